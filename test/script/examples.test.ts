// The shipped script examples produce the transcripts their comments promise.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { loadScript, parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import { formatJsonLines } from '../../src/script/transcript.ts';

const example = (name: string) => join(import.meta.dirname, '../../examples', name);

test('examples/apf-basic.yaml: wakeup-all, #PF(token 0x1000, flags 1), page-ready 0x1000, ACK, retried access ok', () => {
  const t = runScript(loadScript(example('apf-basic.yaml'))).records;
  assert.deepEqual(t, [
    { op: 0, kind: 'apic_enable', result: 'ok' },
    { op: 1, kind: 'wrmsr', result: 'ok' },
    { op: 2, kind: 'wrmsr', result: 'ok' },
    { op: 3, kind: 'sti', result: 'ok' },
    { event: 'irq', vector: '0xec', token: '0xffffffff', flags: '0x0' },
    { event: 'ack', value: '0x1', result: 'ok' },
    { op: 4, kind: 'run', result: 'ok' },
    { event: '#PF', cr2: '0x1000', error_code: '0x0', flags: '0x1' },
    { event: 'irq', vector: '0xec', token: '0x1000', flags: '0x0' },
    { event: 'ack', value: '0x1', result: 'ok' },
    { op: 5, kind: 'touch', result: 'ok' },
    { op: 6, kind: 'run', result: 'ok' },
  ]);
});

test('x86-apf §8 case 80: the kvm-unit-tests asyncpf flow: wakeup-all first, then one #PF/IRQ pair per evicted page', () => {
  const t = runScript(loadScript(example('kut-asyncpf.yaml'))).records;
  const events = t
    .filter((r) => 'event' in r)
    .map((r) =>
      'event' in r && r.event === '#PF'
        ? `#PF ${r.cr2}`
        : 'event' in r && r.event === 'irq'
          ? `irq ${r.token}`
          : '',
    );
  assert.deepEqual(events.filter(Boolean), [
    'irq 0xffffffff',
    '#PF 0x1000',
    'irq 0x1000',
    '#PF 0x2000',
    'irq 0x2000',
    '#PF 0x3000',
    'irq 0x3000',
  ]);
  assert.ok(t.every((r) => !('op' in r) || r.result === 'ok'));
});

test('same scenario ⇒ byte-identical transcript and ftrace', () => {
  const run = () => runScript(loadScript(example('apf-basic.yaml')), { traceEvents: true, ftrace: true });
  const a = run();
  const b = run();
  assert.equal(formatJsonLines(a.records), formatJsonLines(b.records));
  assert.deepEqual(a.ftrace, b.ftrace);
});

test('x86-apf §8 case 41/42 end to end: L2 faults become #PF VM-exits to L1 only with DELIVERY_AS_PF_VMEXIT', () => {
  const file = example('nested/l2-apf.yaml');
  const withBit = runScript(loadScript(file)).records;
  const vmexits = withBit.filter((r) => 'event' in r && r.event === 'pf_vmexit');
  assert.deepEqual(vmexits, [{ event: 'pf_vmexit', address: '0x1000', flags: '0x1' }]);
  assert.ok(withBit.some((r) => 'op' in r && r.kind === 'touch' && r.result === 'ok'));
  const raw = readScenarioFile(file, { bigint: true }) as { ops: Array<Record<string, unknown>> };
  raw.ops = raw.ops.map((o) => (o.op === 'wrmsr' && o.value === 0x300dn ? { ...o, value: 0x3009 } : o));
  const without = runScript(parseScript(raw, file)).records;
  assert.ok(!without.some((r) => 'event' in r && (r.event === 'pf_vmexit' || r.event === '#PF')));
  assert.ok(
    without.some((r) => 'op' in r && r.kind === 'touch' && r.result === 'ok'),
    'the artificial halt, then ok',
  );
});
