// HLT as the guest executes it: the idle task's `sti; hlt`, an offline CPU's `cli; hlt`, and the legacy
// guest's halted wait (native_safe_halt). HLT exits to the host (kvm_emulate_halt), which blocks the vCPU
// until an event; the step is accounted as a halt.
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { kvm_emulate_halt } from '../../../host/x86/x86.ts';
import type { GuestCtx } from './context.ts';
import { GSTEP_HALT } from './state.ts';

/** HLT with IF as the caller left it (set it first for `sti; hlt`: STI's shadow covers the HLT). */
export function guestHalt(g: GuestCtx, vcpu: KvmVcpu): void {
  const c = vcpu.vcpu_id;
  g.vm.effects.kind = GSTEP_HALT;
  g.state.cpu.halts[c] = g.state.cpu.halts[c]! + 1;
  kvm_emulate_halt(vcpu, g.vm);
}
