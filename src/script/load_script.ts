// Loading an x86 script scenario: YAML → zod schema → cross-field checks, each failure one line.

import { eraConfig } from '../host/x86/era.ts';
import { readScenarioFile, validateScenario } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { checkLinuxScript } from './linux_check.ts';
import { type Script, ScriptSchema } from './schema.ts';

/** Checks what the schema cannot: vCPU indices, memory ranges, era capabilities. */
export function checkScript(file: string, s: Script): Script {
  if (s.vm.enforce_pv_cpuid && !eraConfig(s.era).hasEnforcePvFeatureCpuid)
    throw new ScenarioError(
      file,
      'vm.enforce_pv_cpuid',
      `KVM_CAP_ENFORCE_PV_FEATURE_CPUID does not exist in era ${s.era} (5.10+)`,
    );
  s.ops.forEach((op, i) => {
    if (op.vcpu !== undefined && op.vcpu >= s.vm.vcpus)
      throw new ScenarioError(
        file,
        `ops[${i}].vcpu`,
        `expected a vCPU index 0..${s.vm.vcpus - 1}, got ${op.vcpu}`,
      );
    if ((op.op === 'write_mem' || op.op === 'read_mem') && op.gpa + BigInt(op.size) > BigInt(s.vm.memory))
      throw new ScenarioError(
        file,
        `ops[${i}].gpa`,
        `expected an address whose ${op.size} bytes lie in guest RAM [0, ${s.vm.memory})`,
      );
    if (op.op === 'touch' && op.gpa >= BigInt(s.vm.memory))
      throw new ScenarioError(file, `ops[${i}].gpa`, `expected an address in guest RAM [0, ${s.vm.memory})`);
    if (op.op === 'write_mem' && op.value >> BigInt(8 * op.size) !== 0n)
      throw new ScenarioError(file, `ops[${i}].value`, `expected a value that fits in ${op.size} byte(s)`);
  });
  checkLinuxScript(file, s);
  return s;
}

/** Parses raw scenario data (already read from `file`). */
export function parseScript(raw: unknown, file: string): Script {
  return checkScript(file, validateScenario(file, raw, ScriptSchema));
}

export function loadScript(file: string): Script {
  return parseScript(readScenarioFile(file, { bigint: true }), file);
}
