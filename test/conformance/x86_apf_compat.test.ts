// x86-apf §5.4, the compatibility matrix of guest and host generations: the scripts of examples/compat/
// (with the Linux guest), then every guest kind against a host of every era.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ERA_NAMES, type EraName, eraConfig } from '../../src/host/x86/era.ts';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { loadScript, parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';

const example = (name: string) => join(import.meta.dirname, '../../examples/compat', `${name}.yaml`);
const run = (name: string) => runScript(loadScript(example(name)), { traceEvents: true }).records;

/** The guest-visible async-PF events: `#PF cr2/flags` and `irq token`. */
const apfEvents = (t: TranscriptRecord[]) =>
  t.flatMap((r) =>
    'event' in r && r.event === '#PF'
      ? [`#PF ${r.cr2}/${r.flags}`]
      : 'event' in r && r.event === 'irq'
        ? [`irq ${r.token}`]
        : [],
  );
const enValue = (t: TranscriptRecord[]) =>
  t.flatMap((r) => ('op' in r && r.kind === 'host_get_msr' ? [r.value] : []));
const traces = (t: TranscriptRecord[], name: string) =>
  t.filter((r) => 'trace' in r && r.trace === name).length;
const allFinished = (t: TranscriptRecord[]) =>
  t.filter((r) => 'task' in r).every((r) => r.result === 'finished');

test('x86-apf §5.4: guest ≤5.7 on host ≤5.7: the full legacy protocol (#PF reason 1, then #PF reason 2)', () => {
  const t = run('old-guest-old-host');
  assert.deepEqual(enValue(t), ['0x10005'], 'pa | ENABLED | DELIVERY_AS_PF_VMEXIT');
  assert.deepEqual(apfEvents(t), ['#PF 0xffffffff/0x2', '#PF 0x1000/0x1', '#PF 0x1000/0x2']);
  assert.ok(allFinished(t));
});

// x86-apf §8 case 79
test('x86-apf §8 case 79 / §5.4: guest ≤5.7 on host ≥5.8: EN accepted, pv disabled, only artificial halts', () => {
  const t = run('old-guest-new-host');
  assert.deepEqual(enValue(t), ['0x10005'], 'RDMSR returns the value the old guest wrote');
  assert.deepEqual(apfEvents(t), [], 'no wakeup-all, no #PF, no interrupt');
  assert.equal(
    traces(t, 'kvm_async_pf_not_present'),
    1,
    'the fault was still asynchronous: a host-side halt',
  );
  assert.ok(allFinished(t));
});

test('x86-apf §5.4: guest ≥5.8 on host ≤5.7: no ASYNC_PF_INT in CPUID, so the guest does not enable', () => {
  const t = run('new-guest-old-host');
  assert.deepEqual(enValue(t), ['0x0'], 'no WRMSR to EN');
  assert.deepEqual(apfEvents(t), []);
  assert.equal(traces(t, 'kvm_async_pf_not_present'), 1, 'host-only async PF');
  assert.ok(allFinished(t));
});

test('x86-apf §5.4: guest ≥5.8 on host ≥5.8: the full interrupt protocol', () => {
  const t = run('new-guest-new-host');
  assert.deepEqual(enValue(t), ['0x1000d'], 'pa | ENABLED | PF_VMEXIT | DELIVERY_AS_INT');
  assert.deepEqual(apfEvents(t), ['irq 0xffffffff', '#PF 0x1000/0x1', 'irq 0x1000']);
  assert.ok(allFinished(t));
});

test('x86-apf §5.4: a 4.15–5.7 guest on a 2.6.38–4.14 host leaves DELIVERY_AS_PF_VMEXIT out: the host never advertises it', () => {
  const file = example('vmexit-guest-pre-4.15-host');
  const t = run('vmexit-guest-pre-4.15-host');
  assert.deepEqual(enValue(t), ['0x10001'], 'no bit 2, which this host would #GP (mask 0x3c)');
  assert.deepEqual(apfEvents(t), ['#PF 0xffffffff/0x2', '#PF 0x1000/0x1', '#PF 0x1000/0x2']);
  assert.ok(allFinished(t));
  // The same guest on a 4.15 host sees the bit and sets it.
  const raw = readScenarioFile(file, { bigint: true }) as object;
  const on415 = runScript(parseScript({ ...raw, era: '4.15' }, file)).records;
  assert.deepEqual(enValue(on415), ['0x10005']);
});

/**
 * A one-task script for a guest kind on a host era. 5.8–5.12 as released lack 2f15d027c05f, so a
 * direct-booted Linux guest loses its boot wakeup-all (Cloud Hypervisor #2277, test/peer/); the matrix
 * runs them as stable kernels that carry it (`vm.lapic_dequeue_gate`).
 */
function matrixScript(kind: string, era: EraName) {
  const e = eraConfig(era);
  return parseScript(
    {
      kind: 'script',
      era,
      vm: {
        memory: '4MiB',
        ...(e.pageReady === 'interrupt' && !e.lapicDequeueGate ? { lapic_dequeue_gate: true } : {}),
      },
      guest: {
        kind,
        tasks: [
          { program: [{ touch: 0x200000, backing: { delay: '10ms' } }] },
          { program: [{ compute: '5ms' }] },
        ],
      },
      ops: [{ op: 'run' }],
    },
    `<${kind} on ${era}>`,
  );
}

test('x86-apf §5.4: every guest kind on every host era: legacy iff both ≤5.7, interrupts iff both ≥5.8, else halts only', () => {
  for (const era of ERA_NAMES) {
    const oldHost = eraConfig(era).pageReady === 'pf';
    for (const kind of ['linux-4.19', 'linux-5.10', 'linux-6.x']) {
      const oldGuest = kind === 'linux-4.19';
      const t = runScript(matrixScript(kind, era)).records;
      const expected =
        oldGuest && oldHost
          ? ['#PF 0xffffffff/0x2', '#PF 0x1000/0x1', '#PF 0x1000/0x2']
          : !oldGuest && !oldHost
            ? ['irq 0xffffffff', '#PF 0x1000/0x1', 'irq 0x1000']
            : [];
      assert.deepEqual(apfEvents(t), expected, `${kind} on ${era}`);
      assert.ok(allFinished(t), `${kind} on ${era}: every task finishes`);
    }
  }
});
