// System Management Mode as async PF sees it (arch/x86/kvm/smm.c; x86-apf §3.12, §6.1 item 11). SMM entry
// saves the vCPU's state into SMRAM and clears CR0.PG and IF, so ≤6.17 it clears the async-PF completion
// queue through kvm_post_set_cr0 (the lost wake-ups fixed by ab4e41eb9fab); RSM restores the saved state,
// and from 6.18 PG 0→1 rescans the queue. The SMM handler itself is firmware that touches nothing of
// async PF, so the model runs it as its final RSM alone: in SMM with a firmware handler, the vCPU's next
// instruction is RSM (run_loop.ts). One implementation for every scheduler: the script runners' `smi`/`rsm`
// ops and the explorer's environment SMI all come here.
import { KVM_MP_STATE_HALTED } from '../../abi/kvm.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';
import { kvm_set_cr0_pg, kvm_vmexit, vcpu_block_wakeup } from './x86.ts';

/**
 * @kernel enter_smm (the parts async PF depends on): the SMI is taken at an instruction boundary (an exit);
 * a halted vCPU wakes for it (kvm_vcpu_has_events counts a pending SMI, x86-apf §3.9); CR0.PG, IF and CPL
 * go to SMRAM; then IF = 0, CPL = 0 and paging off (kvm_set_cr0_pg: ≤6.17 the queue is cleared).
 * `firmware`: the handler is firmware (see Smram.firmware); the bare test guest runs its own ops instead.
 */
export function enter_smm(vm: KvmVm, vcpu: KvmVcpu, firmware: boolean): void {
  kvm_vmexit(vcpu);
  if (vcpu.mp_state === KVM_MP_STATE_HALTED || vcpu.apf.halted) vcpu_block_wakeup(vcpu);
  const s = vcpu.smram;
  s.cr0_pg = vcpu.cr0_pg;
  s.rflags_if = vcpu.rflags_if;
  s.cpl = vcpu.cpl;
  s.firmware = firmware;
  vcpu.smm = true;
  vcpu.rflags_if = false;
  vcpu.cpl = 0;
  kvm_set_cr0_pg(vm, vcpu, false);
}

/**
 * @kernel emulator_leave_smm (RSM): CR0.PG comes back first (6.18+: PG 0→1 with async PF enabled requests
 * a rescan), then IF and CPL from SMRAM. A vCPU outside SMM gets nothing (the kernel's #UD is not
 * modelled: no modelled guest executes RSM outside SMM).
 */
export function emulator_leave_smm(vm: KvmVm, vcpu: KvmVcpu): void {
  if (!vcpu.smm) return;
  const s = vcpu.smram;
  vcpu.smm = false;
  kvm_set_cr0_pg(vm, vcpu, s.cr0_pg);
  vcpu.rflags_if = s.rflags_if;
  vcpu.cpl = s.cpl;
}
