// The five async-PF tracepoints of include/trace/events/kvm.h (x86-apf §7): names, printk formats, and
// a sink interface. The model calls `trace` with numbers only, so tracing off allocates nothing.

export const TP_KVM_TRY_ASYNC_GET_PAGE = 0;
export const TP_KVM_ASYNC_PF_REPEATED_FAULT = 1;
export const TP_KVM_ASYNC_PF_NOT_PRESENT = 2;
export const TP_KVM_ASYNC_PF_READY = 3;
export const TP_KVM_ASYNC_PF_COMPLETED = 4;

export const TRACEPOINT_NAMES = [
  'kvm_try_async_get_page',
  'kvm_async_pf_repeated_fault',
  'kvm_async_pf_not_present',
  'kvm_async_pf_ready',
  'kvm_async_pf_completed',
] as const;

const hx = (v: number): string => `0x${v.toString(16)}`;

/** The printk text of a tracepoint with its two fields, exactly as the kernel formats it. */
export function formatTracepoint(tp: number, a: number, b: number): string {
  switch (tp) {
    case TP_KVM_TRY_ASYNC_GET_PAGE:
    case TP_KVM_ASYNC_PF_REPEATED_FAULT:
      return `gva = ${hx(a)}, gfn = ${hx(b)}`; // a = gva, b = gfn
    case TP_KVM_ASYNC_PF_NOT_PRESENT:
    case TP_KVM_ASYNC_PF_READY:
      return `token ${hx(a)} gva ${hx(b)}`; // a = token, b = gva
    case TP_KVM_ASYNC_PF_COMPLETED:
      return `gva ${hx(b)} address ${hx(a)}`; // a = host address, b = gva
    default:
      throw new Error(`unknown tracepoint ${tp}`);
  }
}

/** Receives tracepoint hits; `vcpu` is the vcpu_id the event belongs to. */
export type TraceSink = (vcpu: number, tp: number, a: number, b: number) => void;
