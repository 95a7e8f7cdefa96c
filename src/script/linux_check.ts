// Cross-field checks of an x86 script's `guest:` section (the Linux guest) and of the ops that only make
// sense with it: what the schema alone cannot say, each failure one line naming the field.

import { gpaToGfn } from '../mem/guest_memory.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { HOST_MM_OP_NAMES, MAP_OP_NAMES, type Script } from './schema.ts';

/** Host-side ops a script with a Linux guest may use; every other op is a bare-guest instruction. */
export const LINUX_SCRIPT_OPS: readonly string[] = [
  'run',
  'host_set_msr',
  'host_get_msr',
  'read_mem',
  'write_mem',
  'smi',
  'init',
  'cpu_offline',
  'cpu_online',
  // issue 17: a VMM's restore path, and firmware that left the LAPIC enabled (host_set_lapic before run).
  'host_set_msrs',
  'host_set_lapic',
  'host_get_lapic',
  ...HOST_MM_OP_NAMES,
  ...MAP_OP_NAMES,
];

/** Distance between two CPUs' apf_reason areas in scripts (the model's default). */
export const APF_REASON_STRIDE = 128;
/** Bytes of an apf_reason area the guest uses: flags, token, pad, `enabled` (x86-apf §1.6). */
const APF_REASON_BYTES = 68;

export function checkLinuxScript(file: string, s: Script): void {
  const g = s.guest;
  if (g === undefined) {
    s.ops.forEach((op, i) => {
      if (op.op === 'cpu_offline' || op.op === 'cpu_online')
        throw new ScenarioError(file, `ops[${i}].op`, `${op.op} needs a Linux guest (a \`guest:\` section)`);
      if (op.op === 'run' && op.for !== undefined)
        throw new ScenarioError(
          file,
          `ops[${i}].for`,
          'a bounded run needs a Linux guest (a `guest:` section)',
        );
    });
    return;
  }
  s.ops.forEach((op, i) => {
    if (!LINUX_SCRIPT_OPS.includes(op.op))
      throw new ScenarioError(
        file,
        `ops[${i}].op`,
        `${op.op} is an instruction of the bare test guest; with \`guest:\` the Linux guest runs its own code and ops are host-side: ${LINUX_SCRIPT_OPS.join(', ')}`,
      );
  });
  if (s.vm.guest_mode !== 'long')
    throw new ScenarioError(file, 'vm.guest_mode', 'the Linux guest runs in long mode (expected "long")');
  const mem = s.vm.memory;
  if (g.apf_reason % 64 !== 0)
    throw new ScenarioError(file, 'guest.apf_reason', 'expected a 64-byte aligned guest physical address');
  const areaEnd = g.apf_reason + (s.vm.vcpus - 1) * APF_REASON_STRIDE + APF_REASON_BYTES;
  if (areaEnd > mem)
    throw new ScenarioError(
      file,
      'guest.apf_reason',
      `the apf_reason areas of ${s.vm.vcpus} CPU(s) end at 0x${areaEnd.toString(16)}, beyond guest RAM [0, 0x${mem.toString(16)}) (raise vm.memory)`,
    );
  const areaPages = new Set<number>();
  for (let c = 0; c < s.vm.vcpus; c++) {
    const a = g.apf_reason + c * APF_REASON_STRIDE;
    areaPages.add(gpaToGfn(a));
    areaPages.add(gpaToGfn(a + APF_REASON_BYTES - 1));
  }
  const delays = new Map<number, string>();
  g.tasks.forEach((task, t) => {
    if (task.cpu >= s.vm.vcpus)
      throw new ScenarioError(
        file,
        `guest.tasks[${t}].cpu`,
        `expected a CPU 0..${s.vm.vcpus - 1}, got ${task.cpu}`,
      );
    task.program.forEach((step, k) => {
      if (!('touch' in step)) return;
      const field = `guest.tasks[${t}].program[${k}]`;
      if (step.touch >= BigInt(mem))
        throw new ScenarioError(file, `${field}.touch`, `expected an address in guest RAM [0, ${mem})`);
      if (step.backing === undefined) return;
      const page = gpaToGfn(Number(step.touch));
      if (areaPages.has(page))
        throw new ScenarioError(
          file,
          `${field}.backing`,
          'the page holds the guest’s apf_reason areas, which never fault',
        );
      const d = String(step.backing.delay);
      const prev = delays.get(page);
      if (prev !== undefined && prev !== d)
        throw new ScenarioError(
          file,
          `${field}.backing.delay`,
          `page 0x${page.toString(16)} already has delay ${prev}`,
        );
      delays.set(page, d);
    });
  });
}
