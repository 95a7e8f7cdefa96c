// The guest's privileged register writes: wrmsrq and the LAPIC EOI. Linux's wrmsrq has an exception
// fixup: a WRMSR that raises #GP is skipped and the #GP handler prints "unchecked MSR access error"
// once instead of oopsing. Here the faulting step queues the #GP (the host delivers it at the next
// entry, before the guest's next step) and notes the fixup, which the #GP delivery consumes.
import { APIC_EOI, X2APIC_MSR_EOI } from '../../../abi/apicdef.ts';
import { GP_VECTOR } from '../../../abi/kvm_host.ts';
import { kvm_queue_exception_e } from '../../../host/x86/exception.ts';
import { apic_x2apic_mode } from '../../../host/x86/lapic.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { kvm_emulate_wrmsr, kvm_lapic_write } from '../../../host/x86/x86.ts';
import type { GuestCtx } from './context.ts';
import { guestPanic, guestWarning, PANIC_UNHANDLED_EXCEPTION } from './panic.ts';

/** wrmsrq(msr, value): true on success; on #GP the fault is queued and the fixup armed. */
export function guestWrmsr(g: GuestCtx, vcpu: KvmVcpu, msr: number, value: bigint): boolean {
  if (kvm_emulate_wrmsr(g.vm, vcpu, msr, value)) return true;
  kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
  g.state.cpu.gpFixupMsr[vcpu.vcpu_id] = msr;
  g.state.cpu.gpFixupValue[vcpu.vcpu_id] = Number(value);
  return false;
}

/** apic_eoi(): the xAPIC EOI register, or its x2APIC MSR. */
export function apic_eoi(g: GuestCtx, vcpu: KvmVcpu): void {
  if (apic_x2apic_mode(vcpu.apic)) kvm_emulate_wrmsr(g.vm, vcpu, X2APIC_MSR_EOI, 0n);
  else kvm_lapic_write(g.vm, vcpu, APIC_EOI, 0);
}

/**
 * A #GP was delivered. With an armed MSR fixup it is ex_handler_msr: warn once and go on (the WRMSR was
 * already skipped). Any other #GP has no handler in the model: the guest dies.
 */
export function handleGeneralProtection(g: GuestCtx, vcpu: KvmVcpu): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  const msr = st.cpu.gpFixupMsr[c]!;
  if (msr === 0) {
    guestPanic(g, c, PANIC_UNHANDLED_EXCEPTION);
    return;
  }
  st.cpu.gpFixupMsr[c] = 0;
  if (st.warnedMsrFault) return;
  st.warnedMsrFault = true;
  const v = st.cpu.gpFixupValue[c]!;
  guestWarning(
    g,
    c,
    `unchecked MSR access error: WRMSR to 0x${(msr >>> 0).toString(16)} (tried to write 0x${v.toString(16).padStart(16, '0')})`,
  );
}
