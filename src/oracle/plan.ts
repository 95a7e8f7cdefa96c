// Decides whether a script can run on this host's KVM, and on which guest. The needs are derived from
// the script itself (VM config and ops), so scenarios need no annotations: a script is skipped, with
// the reason, when the host cannot show what it exercises or when the guests cannot express it.
import { KVM_CAP_MAX_VCPUS, KVM_CAP_X86_DISABLE_EXITS, KVM_X86_DISABLE_EXITS_HLT } from '../abi/kvm.ts';
import * as para from '../abi/kvm_para.ts';
import { bugSet } from '../host/x86/bugs.ts';
import { type EraConfig, hostBehaviour } from '../host/x86/era.ts';
import {
  type HostMmOp,
  isHostMmOp,
  isMapOp,
  isMigrationOp,
  isPressureOp,
  type Op,
  type Script,
} from '../script/schema.ts';
import { hex } from '../script/transcript.ts';
import type { HostFingerprint } from './fingerprint.ts';
import { protocol as P } from './guests/blobs.ts';
import type { GuestKind } from './machine.ts';

export type GuestChoice = 'auto' | GuestKind;

export type Plan = { run: true; guest: GuestKind; notes: string[] } | { run: false; reason: string };

/** MSRs whose value holds a guest-physical address KVM reads or writes (x86-apf §1.1). */
const GPA_MSRS: ReadonlySet<number> = new Set([
  para.MSR_KVM_WALL_CLOCK,
  para.MSR_KVM_SYSTEM_TIME,
  para.MSR_KVM_WALL_CLOCK_NEW,
  para.MSR_KVM_SYSTEM_TIME_NEW,
  para.MSR_KVM_ASYNC_PF_EN,
  para.MSR_KVM_STEAL_TIME,
  para.MSR_KVM_PV_EOI_EN,
]);

const FOUR_GIB = 2n ** 32n;
const PRIVATE = `[${hex(P.PRIV_BASE)}, ${hex(P.PRIV_END)})`;

export function planKvmRun(script: Script, fp: HostFingerprint, choice: GuestChoice = 'auto'): Plan {
  const skip = (reason: string): Plan => ({ run: false, reason });
  const vm = script.vm;
  const pvm = fp.vendor === 'kvm_pvm';

  if (script.guest)
    return skip(
      `guest: ${script.guest.kind}: the Linux guest is a model of its own; the kvm backend runs only its op-interpreter test guests`,
    );
  if (vm.protected_state)
    return skip('vm.protected_state: the kvm backend creates default VMs only (no SEV-ES, SNP or TDX)');
  if (vm.hlt_in_guest && !((fp.caps.KVM_CAP_X86_DISABLE_EXITS ?? 0) & KVM_X86_DISABLE_EXITS_HLT))
    return skip(
      `vm.hlt_in_guest: KVM_CAP_X86_DISABLE_EXITS (${KVM_CAP_X86_DISABLE_EXITS}) does not offer HLT here`,
    );
  if (vm.hlt_in_guest && pvm && script.ops.some((op) => op.op === 'hlt'))
    return skip(
      'vm.hlt_in_guest with a hlt op: on kvm_pvm the guest HLT is still emulated by KVM (inferred)',
    );
  if (vm.vcpus > P.MAX_VCPUS)
    return skip(`vm.vcpus = ${vm.vcpus}: the kvm guests support up to ${P.MAX_VCPUS}`);
  const maxVcpus = fp.caps.KVM_CAP_MAX_VCPUS ?? KVM_CAP_MAX_VCPUS;
  if (vm.vcpus > maxVcpus) return skip(`vm.vcpus = ${vm.vcpus}: this host allows ${maxVcpus}`);
  if (script.handlers.page_fault.not_present || script.handlers.page_ready.actions)
    return skip(
      'handlers with action lists (unmap, remap, reload_cr3 …): the kvm guests run the fixed handlers only',
    );
  const behaviour = behaviourMismatch(script, fp);
  if (behaviour) return skip(behaviour);

  for (const [i, op] of script.ops.entries()) {
    if (isMapOp(op))
      return skip(
        `op ${i} (${op.op}): kvm_vcpu_map is not reachable here: its x86 callers are nested VMX/SVM, SEV and SVM's SMM, and a kvm_pvm guest has no VMX/SVM`,
      );
    if (isMigrationOp(op))
      return skip(
        `op ${i} (${op.op}): migration needs a second VM (the destination); the kvm backend drives one VM`,
      );
    if (isPressureOp(op))
      return skip(
        `op ${i} (${op.op}): the kvm backend evicts guest pages only with vm.mmu_notifiers (host_reclaim, host_dontneed)`,
      );
    if (isHostMmOp(op)) {
      const why = hostMmProblem(op, vm.memory);
      if (why) return skip(`op ${i} (${op.op}): ${why}`);
      continue;
    }
    const why = opProblem(op, script, fp);
    if (why) return skip(`op ${i} (${op.op}): ${why}`);
  }

  const touches = script.ops.some((op) => op.op === 'touch');
  const guest: GuestKind = choice !== 'auto' ? choice : touches && vm.guest_mode === 'long' ? 'long' : 'real';
  if (guest === 'real' && script.ops.some((op) => op.op === 'touch' && op.cpl === 3))
    return skip('a CPL3 touch needs paging: the real-mode guest cannot run it');

  const notes = [
    guest === 'long'
      ? 'guest: long-mode interpreter (64-bit paging, ops at CPL0, CPL3 touches)'
      : 'guest: real-mode interpreter (no paging)',
  ];
  if (guest === 'real' && vm.guest_mode === 'long')
    notes.push('vm.guest_mode is long, but the script has no touch op, so the real-mode guest ran it');
  if (vm.mmu !== fp.mmu)
    notes.push(
      `vm.mmu is ${vm.mmu}, this host uses ${fp.mmu} paging; no op of this script observes the difference`,
    );
  if (vm.hlt_in_guest) notes.push('KVM_CAP_X86_DISABLE_EXITS(HLT) enabled');
  return { run: true, guest, notes };
}

function opProblem(op: Op, script: Script, fp: HostFingerprint): string | null {
  const vm = script.vm;
  const pvm = fp.vendor === 'kvm_pvm';
  if ((op.vcpu ?? 0) >= vm.vcpus) return `names vCPU ${op.vcpu}, but vm.vcpus is ${vm.vcpus}`;
  switch (op.op) {
    case 'set_cr0_pg':
      return pvm
        ? 'kvm_pvm supports paging only in long mode; clearing CR0.PG shuts the vCPU down (kvm-oracle §1.2)'
        : 'CR0.PG toggling is not implemented by the kvm guests';
    case 'set_cr3':
      return 'the kvm guests keep their own page tables in private memory; a script CR3 is not implemented';
    case 'init':
      return 'INIT is not implemented by the kvm guests';
    case 'smi':
    case 'rsm':
      return 'SMM is not implemented by the kvm guests';
    case 'enter_l2':
    case 'leave_l2':
      return 'nested virtualization (an L2 guest) is not implemented by the kvm guests';
    case 'cpu_offline':
    case 'cpu_online':
      return 'CPU hotplug belongs to the Linux guest model; the kvm guests do not implement it';
    case 'write_mem':
    case 'read_mem':
      return accessProblem(op.gpa, op.size, vm.memory);
    case 'hypercall':
      return pvm
        ? 'VMCALL/VMMCALL from the kvm guests makes no progress on kvm_pvm (observed in real and long mode: the op hangs; PVM guests enter the hypervisor by its own hypercall path)'
        : null;
    case 'host_set_msrs':
      for (const e of op.entries) {
        const why = opProblem({ op: 'host_set_msr', msr: e.msr, value: e.value }, script, fp);
        if (why) return why;
      }
      return null;
    case 'touch': {
      const why = accessProblem(op.gpa, 1, vm.memory);
      if (why) return why;
      if (op.backing && pvm && op.cpl === 0)
        return 'CPL0 async PF: CPL0 code is emulated on kvm_pvm and its faults never go async (kvm-oracle §5.3)';
      if (op.backing && pvm && vm.guest_mode === 'real')
        return 'async PF without paging: real mode is emulated on kvm_pvm and its faults never go async';
      return null;
    }
    case 'wrmsr':
    case 'host_set_msr':
      if (GPA_MSRS.has(op.msr)) {
        const gpa = op.value & ~0x3fn;
        if (gpa < BigInt(P.PRIV_END) && gpa + 0x40n > BigInt(P.PRIV_BASE))
          return `${hex(op.value)} points into ${PRIVATE}, which the kvm guests use for themselves`;
      }
      return null;
    default:
      return null;
  }
}

/**
 * The kernel is what it is: a script can run here only if the host behaviour it asks the model for (its
 * era, with its bug switches and `vm.pv_msr_unsupported` applied) is the behaviour of this kernel's
 * era. Compared switch by switch (the model's era table, src/host/x86/era.ts), so e.g. era 2026 with
 * en-commit-before-validate runs on a 6.18 kernel, and the reason names the switches that differ.
 */
function behaviourMismatch(script: Script, fp: HostFingerprint): string | null {
  const what = `era ${script.era}${script.bugs.length ? ` with ${script.bugs.join(', ')}` : ''}`;
  if (fp.era === null) return `${what}: this host's kernel ${fp.kernel} matches no modelled era`;
  const want = hostBehaviour(script.era, bugSet(script.bugs), script.vm.pv_msr_unsupported, {
    lapicDequeueGate: script.vm.lapic_dequeue_gate,
  });
  const have = hostBehaviour(fp.era);
  const differ = (Object.keys(have) as Array<keyof EraConfig>).filter(
    (k) => k !== 'name' && k !== 'era' && JSON.stringify(want[k]) !== JSON.stringify(have[k]),
  );
  if (differ.length === 0) return null;
  return `${what}: this host's kernel ${fp.kernel} behaves as era ${fp.era}, which differs in ${differ.join(', ')}`;
}

/**
 * Host memory operations: the backend runs host_dontneed (madvise on guest RAM's host mapping,
 * session.ts); the others need KSM, reclaim, NUMA or THP control of the host and run on the model only.
 */
function hostMmProblem(op: HostMmOp, memory: number): string | null {
  if (op.op !== 'host_dontneed')
    return 'of the host memory operations the kvm backend implements host_dontneed only; the others run on the model only';
  return accessProblem(op.gpa ?? 0n, op.pages * 4096, memory);
}

/** Guest accesses must stay in RAM, out of the guests' hole, and under 4 GiB (the guests' reach). */
function accessProblem(gpa: bigint, size: number, memory: number): string | null {
  const end = gpa + BigInt(size);
  if (end > BigInt(memory))
    return `${hex(gpa)} is not in RAM (vm.memory ${hex(memory)}); what such accesses do is up to the VMM`;
  if (gpa < BigInt(P.PRIV_END) && end > BigInt(P.PRIV_BASE))
    return `${hex(gpa)} is in ${PRIVATE}, which the kvm guests use for themselves`;
  if (end > FOUR_GIB) return `${hex(gpa)} is above 4 GiB, beyond the kvm guests' reach`;
  return null;
}
