// Loading an x86 script scenario: YAML → zod schema → cross-field checks, each failure one line.

import { hex } from '../guest/x86/records.ts';
import { eraConfig } from '../host/x86/era.ts';
import { PAGE_SIZE } from '../mem/guest_memory.ts';
import { readScenarioFile, validateScenario } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { checkHostMaps } from './host_map_check.ts';
import { checkLinuxScript } from './linux_check.ts';
import { checkMigration, checkPeerHandlers, checkPeerOp } from './peer_check.ts';
import {
  type HostMmOp,
  isHostMmOp,
  isMapOp,
  isMigrationOp,
  isPressureOp,
  type PressureOp,
  type Script,
  ScriptSchema,
} from './schema.ts';

/** Checks what the schema cannot: vCPU indices, memory ranges, era capabilities. */
export function checkScript(file: string, s: Script): Script {
  if (s.vm.enforce_pv_cpuid && !eraConfig(s.era).hasEnforcePvFeatureCpuid)
    throw new ScenarioError(
      file,
      'vm.enforce_pv_cpuid',
      `KVM_CAP_ENFORCE_PV_FEATURE_CPUID does not exist in era ${s.era} (5.10+)`,
    );
  if (s.vm.mmu_caches && !s.vm.mmu_notifiers)
    throw new ScenarioError(
      file,
      'vm.mmu_caches',
      'the memory-cache model runs with the MMU notifiers: add vm.mmu_notifiers: true',
    );
  if (s.vm.mmu_caches && s.guest !== undefined)
    throw new ScenarioError(
      file,
      'vm.mmu_caches',
      'not supported with a Linux guest yet: use the bare test guest (no `guest:` section)',
    );
  checkHostMaps(file, s);
  checkPeerHandlers(file, s);
  checkMigration(file, s);
  s.ops.forEach((op, i) => {
    if (isHostMmOp(op)) {
      checkHostMmOp(file, s, op, i);
      return;
    }
    if (isMapOp(op)) return; // checkHostMaps
    if (isMigrationOp(op)) {
      if ('vcpu' in op && op.vcpu !== undefined && op.vcpu >= s.vm.vcpus)
        throw new ScenarioError(
          file,
          `ops[${i}].vcpu`,
          `expected a vCPU index 0..${s.vm.vcpus - 1}, got ${op.vcpu}`,
        );
      return; // checkMigration (peer_check.ts)
    }
    if (isPressureOp(op)) {
      checkHostEvict(file, s, op, i);
      return;
    }
    checkPeerOp(file, op, i);
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
  s.expect?.counts?.forEach((p, i) => {
    if (p.per_vcpu !== undefined && p.per_vcpu.length !== s.vm.vcpus)
      throw new ScenarioError(
        file,
        `expect.counts[${i}].per_vcpu`,
        `expected one count per vCPU (vm.vcpus = ${s.vm.vcpus}), got ${p.per_vcpu.length}`,
      );
  });
  s.expect?.ops?.forEach((p, i) => {
    if (p.op >= s.ops.length)
      throw new ScenarioError(
        file,
        `expect.ops[${i}].op`,
        `expected an op index 0..${s.ops.length - 1}, got ${p.op}`,
      );
  });
  return s;
}

/** host_evict: the bare-guest runner without the notifier model (which has host_reclaim), pages in RAM. */
function checkHostEvict(file: string, s: Script, op: PressureOp, i: number): void {
  if (s.vm.mmu_notifiers || s.vm.maps !== undefined)
    throw new ScenarioError(
      file,
      `ops[${i}].op`,
      "host_evict is the plain runner's eviction; with vm.mmu_notifiers or vm.maps use host_reclaim / host_dontneed",
    );
  if (s.guest !== undefined)
    throw new ScenarioError(
      file,
      `ops[${i}].op`,
      'host_evict runs with the bare test guest only (no `guest:`)',
    );
  if (op.gpa / BigInt(PAGE_SIZE) + BigInt(op.pages) > BigInt(s.vm.memory / PAGE_SIZE))
    throw new ScenarioError(
      file,
      `ops[${i}].gpa`,
      `expected ${op.pages} page(s) from ${hex(op.gpa)} inside guest RAM [0, ${hex(s.vm.memory)})`,
    );
}

/** A host memory operation: only with the notifier model, on whole guest pages inside RAM. */
function checkHostMmOp(file: string, s: Script, op: HostMmOp, i: number): void {
  const at = `ops[${i}]`;
  if (!s.vm.mmu_notifiers)
    throw new ScenarioError(
      file,
      `${at}.op`,
      `${op.op} needs vm.mmu_notifiers: true (host memory operations run with the MMU-notifier model only)`,
    );
  if (op.op === 'host_alloc_fail') {
    if (!s.vm.mmu_caches)
      throw new ScenarioError(
        file,
        `${at}.op`,
        'host_alloc_fail needs vm.mmu_caches: true (the memory-cache model)',
      );
    return;
  }
  const npages = s.vm.memory / PAGE_SIZE;
  const inRam = (field: string, gpa: bigint, pages: number): void => {
    if (gpa / BigInt(PAGE_SIZE) + BigInt(pages) > BigInt(npages))
      throw new ScenarioError(
        file,
        `${at}.${field}`,
        `expected ${pages} page(s) from ${hex(gpa)} inside guest RAM [0, ${hex(s.vm.memory)})`,
      );
  };
  if (op.op === 'host_munmap' && op.outside) {
    if (op.gpa !== undefined)
      throw new ScenarioError(
        file,
        `${at}.gpa`,
        'with outside: true the range lies outside guest RAM (no gpa)',
      );
    return;
  }
  if (op.op === 'host_ksm_merge' && op.gpas !== undefined) {
    if (op.gpa !== undefined || op.pages !== 1)
      throw new ScenarioError(file, `${at}.gpas`, 'expected either gpas (a list of pages) or gpa with pages');
    const seen = new Set<bigint>();
    op.gpas.forEach((g, k) => {
      inRam(`gpas[${k}]`, g, 1);
      const page = g / BigInt(PAGE_SIZE);
      if (seen.has(page))
        throw new ScenarioError(
          file,
          `${at}.gpas[${k}]`,
          `page ${hex(page * BigInt(PAGE_SIZE))} is listed twice`,
        );
      seen.add(page);
    });
    return;
  }
  if (op.gpa === undefined)
    throw new ScenarioError(
      file,
      `${at}.gpa`,
      op.op === 'host_munmap'
        ? 'expected a guest physical address (or outside: true)'
        : op.op === 'host_ksm_merge'
          ? 'expected gpa with pages, or gpas (a list of pages)'
          : 'expected a guest physical address',
    );
  inRam('gpa', op.gpa, op.pages);
  if (op.op === 'host_age' && op.kind === 'test_young' && op.pages !== 1)
    throw new ScenarioError(file, `${at}.pages`, 'test_young asks about one address: expected 1');
}

/** Parses raw scenario data (already read from `file`). */
export function parseScript(raw: unknown, file: string): Script {
  return checkScript(file, validateScenario(file, raw, ScriptSchema));
}

export function loadScript(file: string): Script {
  return parseScript(readScenarioFile(file, { bigint: true }), file);
}
