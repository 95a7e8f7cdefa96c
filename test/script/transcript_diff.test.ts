import assert from 'node:assert/strict';
import { test } from 'node:test';
import { comparable, diffTranscripts } from '../../src/script/transcript_diff.ts';

test('diffTranscripts ignores key order and finds the first differing record', () => {
  const a = [
    { op: 0, kind: 'wrmsr', result: 'ok' as const },
    { event: 'irq' as const, vcpu: 1, vector: '0xec' },
  ];
  const b = [
    { op: 0, kind: 'wrmsr', result: 'ok' as const },
    { event: 'irq' as const, vector: '0xec', vcpu: 1 },
  ];
  assert.equal(diffTranscripts(a, b).index, -1);
  const c = [...b, { op: 1, kind: 'rdmsr', result: '#GP' as const }];
  assert.deepEqual(diffTranscripts(a, c), { index: 2, left: undefined, right: c[2] });
});

test('comparable drops tracepoints and host WARNs and stops after the first hang', () => {
  const t = comparable([
    { trace: 'kvm_async_pf_ready', text: 'token 0x1000 gva 0x0' },
    { event: 'host_warning', message: 'WARNING in kvm_read_guest_offset_cached' },
    { op: 0, kind: 'touch', result: 'hang' },
    { op: 1, kind: 'run', result: 'ok' },
  ]);
  assert.deepEqual(t, [{ op: 0, kind: 'touch', result: 'hang' }]);
});
