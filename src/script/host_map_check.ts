// Cross-field checks of a script's guest-mapping parts (vm.maps and the map ops; docs/mmu.md, "Guest
// mapping"): the era must have the API, each op's options must exist in the era's form, and the switches
// must have something to act on. Each failure is one line naming the field.
import { hex } from '../guest/x86/records.ts';
import { hostMapEra } from '../host/x86/host_maps.ts';
import { PAGE_SIZE } from '../mem/guest_memory.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { isMapOp, type Script } from './schema.ts';

/** The guest-mapping switches (bugs.ts): each acts on the 5.x form (its KVM_UNMAPPED_PAGE, its refcounts). */
export const MAP_BUGS: readonly string[] = [
  'unmap-poison-page-check',
  'apic-access-page-unmapped-clean',
  'refcount-nonrefcounted-page',
];

export function checkHostMaps(file: string, s: Script): void {
  const maps = s.vm.maps;
  const first = s.ops.findIndex(isMapOp);
  const bug = s.bugs.find((b) => MAP_BUGS.includes(b));
  if (maps === undefined) {
    if (first >= 0)
      throw new ScenarioError(
        file,
        `ops[${first}].op`,
        `${s.ops[first]!.op} needs vm.maps (the guest mapping API)`,
      );
    if (bug !== undefined)
      throw new ScenarioError(file, 'bugs', `${bug} is a guest-mapping switch: add vm.maps`);
    return;
  }
  const form = hostMapEra(s.era);
  if (form === null)
    throw new ScenarioError(file, 'era', `kvm_vcpu_map does not exist in era ${s.era} (it appeared in 5.2)`);
  if (bug !== undefined && form === '6.13')
    throw new ScenarioError(
      file,
      'bugs',
      `${bug} re-creates a 5.x kernel (5.2 … 6.12); era ${s.era} has the 6.13 form of kvm_vcpu_map`,
    );
  const npages = s.vm.memory / PAGE_SIZE;
  const ranges = [
    ['backing', maps.backing],
    ['readonly', maps.readonly],
    ['smm_only', maps.smm_only],
  ] as const;
  for (const [name, list] of ranges)
    list.forEach((r, k) => {
      if (r.gpa / BigInt(PAGE_SIZE) + BigInt(r.pages) > BigInt(npages))
        throw new ScenarioError(
          file,
          `vm.maps.${name}[${k}].gpa`,
          `expected ${r.pages} page(s) from ${hex(r.gpa)} inside guest RAM [0, ${hex(s.vm.memory)})`,
        );
    });
  if (maps.allow_unsafe_mappings && form !== '6.13')
    throw new ScenarioError(
      file,
      'vm.maps.allow_unsafe_mappings',
      `the module parameter exists from 6.13; era ${s.era} maps such memory without it`,
    );
  s.ops.forEach((op, i) => {
    if (!isMapOp(op)) return;
    const at = `ops[${i}]`;
    if (op.vcpu !== undefined && op.vcpu >= s.vm.vcpus)
      throw new ScenarioError(
        file,
        `${at}.vcpu`,
        `expected a vCPU index 0..${s.vm.vcpus - 1}, got ${op.vcpu}`,
      );
    if (op.caller === 'steal_time' && form !== '5.6')
      throw new ScenarioError(
        file,
        `${at}.caller`,
        `steal_time maps through kvm_map_gfn, which exists in 5.6 … 5.16 (eras 5.7 … 5.15); era ${s.era} has the ${form} form`,
      );
    if (
      (op.op === 'vcpu_map' || op.op === 'vcpu_unmap') &&
      op.atomic !== undefined &&
      op.caller !== 'steal_time'
    )
      throw new ScenarioError(file, `${at}.atomic`, 'only steal_time maps atomically (kvm_map_gfn)');
    if (op.op === 'vcpu_map' && op.writable !== undefined && form !== '6.13')
      throw new ScenarioError(
        file,
        `${at}.writable`,
        `writable is chosen at map time from 6.13; era ${s.era} passes dirty to vcpu_unmap instead`,
      );
    if (op.op === 'vcpu_unmap' && op.dirty !== undefined && form === '6.13')
      throw new ScenarioError(
        file,
        `${at}.dirty`,
        `from 6.13 kvm_vcpu_unmap has no dirty argument (the map's writable decides); pass writable to vcpu_map`,
      );
  });
}
