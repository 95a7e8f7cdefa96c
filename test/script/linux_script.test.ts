// Scripts with the Linux guest (`guest:`, docs/scenarios.md): validation, the transcript's task and
// dummies records, virtual time for compute bursts, and the host-side ops (run for, SMI, INIT, CPU
// hotplug) acting on a guest that runs its own code.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import { formatJsonLines, formatTable, type TranscriptRecord } from '../../src/script/transcript.ts';

type Obj = Record<string, unknown>;

/** A script with a Linux guest; `guest` and the rest override the defaults. */
function script(guest: Obj, ops: Obj[] = [{ op: 'run' }], rest: Obj = {}): Obj {
  return {
    kind: 'script',
    era: '6.18',
    vm: { memory: '4MiB' },
    guest: { kind: 'linux-6.x', ...guest },
    ops,
    ...rest,
  };
}
const run = (raw: Obj, traceEvents = false) =>
  runScript(parseScript(raw, 'test.yaml'), { traceEvents }).records;

const events = (t: TranscriptRecord[]) =>
  t.flatMap((r) =>
    'event' in r && r.event === '#PF'
      ? [`#PF ${r.cr2}`]
      : 'event' in r && r.event === 'irq' && r.vector === '0xf3'
        ? [`irq ${r.token}`]
        : 'op' in r
          ? [`${r.kind} ${r.result}${r.value === undefined ? '' : ` ${r.value}`}`]
          : [],
  );
const tasks = (t: TranscriptRecord[]) => t.filter((r) => 'task' in r);

function rejects(raw: Obj, field: string, re: RegExp): void {
  assert.throws(
    () => parseScript(raw, 'test.yaml'),
    (e: unknown) => e instanceof ScenarioError && e.field === field && re.test(e.message),
  );
}

test('linux script: validation names the field and what is allowed', () => {
  rejects(script({}, [{ op: 'touch', gpa: 0x1000 }]), 'ops[0].op', /bare test guest.*host-side/);
  rejects(script({ kind: 'linux-3.10' }), 'guest.kind', /linux-4\.19/);
  rejects(script({ tasks: [{ cpu: 1, program: [] }] }), 'guest.tasks[0].cpu', /CPU 0\.\.0/);
  rejects(
    script({ tasks: [{ program: [{ touch: 0x1000, cpl: 3 }] }] }),
    'guest.tasks[0].program[0]',
    /"cpl"/,
  );
  rejects(script({ tasks: [{ program: [{ compute: 'soon' }] }] }), 'guest.tasks[0].program[0].compute', /./);
  rejects(
    script({ tasks: [{ program: [{ touch: 0x10000, backing: { delay: '1ms' } }] }] }),
    'guest.tasks[0].program[0].backing',
    /apf_reason/,
  );
  rejects(
    script({ apf_reason: 0x10000 }, [{ op: 'run' }], { vm: { memory: '64KiB' } }),
    'guest.apf_reason',
    /raise vm.memory/,
  );
  const bare = { kind: 'script', ops: [{ op: 'cpu_offline' }] };
  rejects(bare, 'ops[0].op', /needs a Linux guest/);
  rejects({ kind: 'script', ops: [{ op: 'run', for: '1ms' }] }, 'ops[0].for', /needs a Linux guest/);
});

test('linux script: a task record per task and the sleep table’s dummies, in table and JSON form', () => {
  const t = run(
    script({
      tasks: [
        { program: [{ touch: 0x200000, backing: { delay: '10ms' } }, { compute: '1ms' }] },
        { program: [] },
      ],
    }),
  );
  assert.deepEqual(t.slice(-3), [
    { task: 0, result: 'finished' },
    { task: 1, result: 'finished' },
    { dummies: 'sleep_table', created: 0, consumed: 0, leaked: 0, freed: 0, hashed: 0 },
  ]);
  const table = formatTable(t);
  assert.match(table, /^task 0 +finished$/m);
  assert.match(table, /^dummies +created=0 consumed=0 leaked=0 freed=0 hashed=0$/m);
  assert.match(formatJsonLines(t), /\{"task":1,"result":"finished"\}/);
});

test('linux script: same scenario ⇒ byte-identical transcript and ftrace', () => {
  const raw = script({
    tasks: [
      { program: [{ touch: 0x200000, backing: { delay: '3ms' } }, { compute: '1ms' }] },
      { program: [{ compute: '2ms' }, { touch: 0x201000, write: true, backing: { delay: '1ms' } }] },
    ],
  });
  const once = () => runScript(parseScript(raw, 'test.yaml'), { traceEvents: true, ftrace: true });
  const a = once();
  const b = once();
  assert.equal(formatJsonLines(a.records), formatJsonLines(b.records));
  assert.deepEqual(a.ftrace, b.ftrace);
  assert.ok(a.ftrace.length > 0);
});

test('linux script: compute bursts take virtual time, so a page-ready lands between them', () => {
  const order = (burst: string) =>
    events(
      run(
        script({
          tasks: [
            { program: [{ touch: 0x200000, backing: { delay: '10ms' } }] },
            {
              program: [...Array(5).fill({ compute: burst }), { touch: 0x201000, backing: { delay: '1ms' } }],
            },
          ],
        }),
      ),
    );
  // 5 × 4ms: task 1 reaches its own fault at 20ms, after 0x1000 completed at 10ms.
  assert.deepEqual(order('4ms'), [
    'irq 0xffffffff',
    '#PF 0x1000',
    'irq 0x1000',
    '#PF 0x2000',
    'irq 0x2000',
    'run ok',
  ]);
  // 5 × 1ms: it faults at 5ms, before.
  assert.deepEqual(order('1ms'), [
    'irq 0xffffffff',
    '#PF 0x1000',
    '#PF 0x2000',
    'irq 0x2000',
    'irq 0x1000',
    'run ok',
  ]);
});

test('linux script: linux-5.10 keeps `enabled` at apf_reason + 64, linux-6.x in a separate per-CPU variable', () => {
  const enabled = (kind: string) =>
    events(run(script({ kind }, [{ op: 'run' }, { op: 'read_mem', gpa: 0x10040, size: 4 }]))).at(-1);
  assert.equal(enabled('linux-5.10'), 'read_mem ok 0x1');
  assert.equal(enabled('linux-6.x'), 'read_mem ok 0x0');
});

// x86-apf §8 case 58 / 59 with the Linux guest
test('linux script: an SMI while a fault is outstanding hangs the task on a 6.17 host, not on 6.18 (ab4e41eb9fab)', () => {
  const raw = (era: string) =>
    script(
      { tasks: [{ program: [{ touch: 0x200000, backing: { delay: '10ms' } }] }] },
      [{ op: 'run', for: '1ms' }, { op: 'smi' }, { op: 'run' }],
      { era },
    );
  assert.deepEqual(tasks(run(raw('6.17'))), [{ task: 0, result: 'hung', token: '0x1000' }]);
  assert.deepEqual(tasks(run(raw('6.18'))), [{ task: 0, result: 'finished' }]);
});

// x86-apf §8 case 73 and §4.6 end to end
test('linux script: CPU offline releases its sleeper to CPU 0, which faults again; online re-enables with a wakeup-all', () => {
  const t = run(
    script(
      { tasks: [{ cpu: 1, program: [{ touch: 0x200000, backing: { delay: '10ms' } }] }] },
      [
        { op: 'run', for: '1ms' },
        { op: 'cpu_offline', vcpu: 1 },
        { op: 'run', for: '1ms' },
        { op: 'host_get_msr', vcpu: 1, msr: 'MSR_KVM_ASYNC_PF_EN' },
        { op: 'cpu_online', vcpu: 0 },
        { op: 'cpu_online', vcpu: 1 },
        { op: 'run' },
        { op: 'host_get_msr', vcpu: 1, msr: 'MSR_KVM_ASYNC_PF_EN' },
      ],
      { vm: { memory: '4MiB', vcpus: 2 } },
    ),
  );
  assert.deepEqual(events(t), [
    'irq 0xffffffff',
    'irq 0xffffffff',
    '#PF 0x1001',
    'run ok',
    'cpu_offline ok',
    '#PF 0x1000', // the released task, now on CPU 0
    'run ok',
    'host_get_msr ok 0x0',
    'cpu_online rejected', // CPU 0 is online
    'cpu_online ok',
    'irq 0xffffffff',
    'irq 0x1000',
    'run ok',
    'host_get_msr ok 0x1008d',
  ]);
  assert.deepEqual(tasks(t), [{ task: 0, vcpu: 0, result: 'finished' }]);
});

// x86-apf §8 case 57 with the Linux guest
test('linux script: INIT drops the queue; the sleeper waits until CPU online re-enables APF and its wakeup-all frees it', () => {
  const ops = [{ op: 'run', for: '1ms' }, { op: 'init', vcpu: 1 }, { op: 'run' }];
  const raw = (more: Obj[]) =>
    script(
      { kind: 'linux-5.10', tasks: [{ cpu: 1, program: [{ touch: 0x200000, backing: { delay: '10ms' } }] }] },
      [...ops, ...more],
      { vm: { memory: '4MiB', vcpus: 2 } },
    );
  assert.deepEqual(tasks(run(raw([]))), [{ task: 0, vcpu: 1, result: 'hung', token: '0x1001' }]);
  const t = run(raw([{ op: 'cpu_online', vcpu: 1 }, { op: 'run' }]));
  assert.deepEqual(events(t).slice(-5), [
    'cpu_online ok',
    'irq 0xffffffff',
    '#PF 0x2001',
    'irq 0x2001',
    'run ok',
  ]);
  assert.deepEqual(tasks(t), [{ task: 0, vcpu: 1, result: 'finished' }]);
});

// x86-apf §8 case 77 through a script
test('linux script: a legacy PREEMPT guest in atomic context waits halted; with the queue cleared it stays hung there', () => {
  const raw = (ops: Obj[]) =>
    script(
      {
        kind: 'linux-4.19',
        preempt: true,
        tasks: [{ program: [{ touch: 0x200000, mode: 'atomic', backing: { delay: '10ms' } }] }],
      },
      ops,
      { era: '4.19' },
    );
  assert.deepEqual(tasks(run(raw([{ op: 'run' }]))), [{ task: 0, result: 'finished' }]);
  const t = run(
    raw([
      { op: 'run', for: '1ms' },
      { op: 'host_set_msr', msr: 'MSR_KVM_ASYNC_PF_EN', value: 0 },
      { op: 'run' },
    ]),
  );
  assert.deepEqual(tasks(t), [{ task: 0, result: 'hung', token: '0x1000', wait: 'halt' }]);
});
