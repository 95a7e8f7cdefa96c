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

// ---- The exit, injection and MSR tracepoints (arch/x86/kvm/trace.h) ----
// Their fields do not fit two numbers, so they have a sink of their own (KvmTraceSink, HostHooks.kvmTrace):
// a run that listens only to the async-PF events (every existing output) never calls it, and a call
// site with nobody listening costs one null test (`hooks.kvmTrace?.(…)` evaluates no argument then).
// The printk formats are those of the 6.18 kernel: its tracefs `events/kvm/<event>/format` files, which
// print what trace.h's TP_printk says (see docs/findings.md).

export const TP_KVM_EXIT = 5;
export const TP_KVM_ENTRY = 6;
export const TP_KVM_INJ_EXCEPTION = 7;
export const TP_KVM_INJ_VIRQ = 8;
export const TP_KVM_APIC_ACCEPT_IRQ = 9;
export const TP_KVM_MSR = 10;
export const TP_KVM_HYPERCALL = 11;
export const TP_KVM_CPUID = 12;

/** The names of TP_KVM_EXIT… (index tp - TP_KVM_EXIT). */
export const KVM_EVENT_NAMES = [
  'kvm_exit',
  'kvm_entry',
  'kvm_inj_exception',
  'kvm_inj_virq',
  'kvm_apic_accept_irq',
  'kvm_msr',
  'kvm_hypercall',
  'kvm_cpuid',
] as const;

/** Every tracepoint the host model has, by TP_* id. */
export const ALL_TRACEPOINT_NAMES: readonly string[] = [...TRACEPOINT_NAMES, ...KVM_EVENT_NAMES];

/**
 * Receives the exit/injection/MSR tracepoints. What a, b, c, x and xs hold depends on tp:
 * - TP_KVM_EXIT: a VMX basic exit reason (EXIT_REASON_*), b info1 (the exit qualification), c intr_info;
 * - TP_KVM_ENTRY: a intr_info of the event injected at this entry (0: none), b its error code;
 * - TP_KVM_INJ_EXCEPTION: a vector, b error code, c 1 when re-injected;
 * - TP_KVM_INJ_VIRQ: a vector, b 1 for a soft interrupt (INTn), c 1 when re-injected;
 * - TP_KVM_APIC_ACCEPT_IRQ: a the vCPU's apicid (KVM prints vcpu_id), b vector, c the delivery mode
 *   as APIC_DM_* (0x000 fixed, 0x500 INIT…) | 0x8000 for a level-triggered one;
 * - TP_KVM_MSR: a the MSR index, b 1 for a write, c 1 when it raised #GP, x the data;
 * - TP_KVM_HYPERCALL: x nr, xs [a0, a1, a2, a3] as the guest passed them;
 * - TP_KVM_CPUID: a function, b index, c found | used_max_basic << 1, xs [rax, rbx, rcx, rdx].
 */
export type KvmTraceSink = (
  vcpu: number,
  tp: number,
  a: number,
  b: number,
  c: number,
  x: bigint,
  xs: readonly bigint[] | null,
) => void;

// VMX basic exit reasons (arch/x86/include/uapi/asm/vmx.h) the model produces.
export const EXIT_REASON_EXCEPTION_NMI = 0;
export const EXIT_REASON_EXTERNAL_INTERRUPT = 1;
export const EXIT_REASON_INTERRUPT_WINDOW = 7;
export const EXIT_REASON_CPUID = 10;
export const EXIT_REASON_HLT = 12;
export const EXIT_REASON_VMCALL = 18;
export const EXIT_REASON_VMRESUME = 24;
export const EXIT_REASON_CR_ACCESS = 28;
export const EXIT_REASON_IO_INSTRUCTION = 30;
export const EXIT_REASON_MSR_READ = 31;
export const EXIT_REASON_MSR_WRITE = 32;
export const EXIT_REASON_APIC_ACCESS = 44;
export const EXIT_REASON_EPT_VIOLATION = 48;

/** The names kvm_exit prints for VMX exit reasons (VMX_EXIT_REASONS in the 6.18 uapi vmx.h). */
const VMX_EXIT_REASON_NAMES = new Map<number, string>([
  [0, 'EXCEPTION_NMI'],
  [1, 'EXTERNAL_INTERRUPT'],
  [2, 'TRIPLE_FAULT'],
  [3, 'INIT_SIGNAL'],
  [4, 'SIPI_SIGNAL'],
  [7, 'INTERRUPT_WINDOW'],
  [8, 'NMI_WINDOW'],
  [9, 'TASK_SWITCH'],
  [10, 'CPUID'],
  [12, 'HLT'],
  [13, 'INVD'],
  [14, 'INVLPG'],
  [15, 'RDPMC'],
  [16, 'RDTSC'],
  [18, 'VMCALL'],
  [19, 'VMCLEAR'],
  [20, 'VMLAUNCH'],
  [21, 'VMPTRLD'],
  [22, 'VMPTRST'],
  [23, 'VMREAD'],
  [24, 'VMRESUME'],
  [25, 'VMWRITE'],
  [26, 'VMOFF'],
  [27, 'VMON'],
  [28, 'CR_ACCESS'],
  [29, 'DR_ACCESS'],
  [30, 'IO_INSTRUCTION'],
  [31, 'MSR_READ'],
  [32, 'MSR_WRITE'],
  [33, 'INVALID_STATE'],
  [34, 'MSR_LOAD_FAIL'],
  [36, 'MWAIT_INSTRUCTION'],
  [37, 'MONITOR_TRAP_FLAG'],
  [39, 'MONITOR_INSTRUCTION'],
  [40, 'PAUSE_INSTRUCTION'],
  [41, 'MCE_DURING_VMENTRY'],
  [43, 'TPR_BELOW_THRESHOLD'],
  [44, 'APIC_ACCESS'],
  [45, 'EOI_INDUCED'],
  [46, 'GDTR_IDTR'],
  [47, 'LDTR_TR'],
  [48, 'EPT_VIOLATION'],
  [49, 'EPT_MISCONFIG'],
  [50, 'INVEPT'],
  [51, 'RDTSCP'],
  [52, 'PREEMPTION_TIMER'],
  [53, 'INVVPID'],
  [54, 'WBINVD'],
  [55, 'XSETBV'],
  [56, 'APIC_WRITE'],
  [57, 'RDRAND'],
  [58, 'INVPCID'],
  [59, 'VMFUNC'],
  [60, 'ENCLS'],
  [61, 'RDSEED'],
  [62, 'PML_FULL'],
  [63, 'XSAVES'],
  [64, 'XRSTORS'],
  [67, 'UMWAIT'],
  [68, 'TPAUSE'],
  [74, 'BUS_LOCK'],
  [75, 'NOTIFY'],
  [77, 'TDCALL'],
  [84, 'MSR_READ_IMM'],
  [85, 'MSR_WRITE_IMM'],
]);

/** The exception mnemonics kvm_inj_exception prints (kvm_trace_sym_exc, 6.18). */
const EXCEPTION_NAMES = new Map<number, string>([
  [0, '#DE'],
  [1, '#DB'],
  [3, '#BP'],
  [4, '#OF'],
  [5, '#BR'],
  [6, '#UD'],
  [7, '#NM'],
  [8, '#DF'],
  [10, '#TS'],
  [11, '#NP'],
  [12, '#SS'],
  [13, '#GP'],
  [14, '#PF'],
  [16, '#MF'],
  [17, '#AC'],
  [18, '#MC'],
  [19, '#XM'],
  [20, '#VE'],
  [21, '#CP'],
  [28, '#HV'],
  [29, '#VC'],
  [30, '#SX'],
]);

/** The APIC delivery modes kvm_apic_accept_irq prints (kvm_deliver_mode). */
const DELIVERY_MODES = ['Fixed', 'LowPrio', 'SMI', 'Res3', 'NMI', 'INIT', 'SIPI', 'ExtINT'] as const;

/** Exceptions that push an error code (x86_exception_has_error_code): #DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP. */
export const exceptionHasErrorCode = (vector: number): boolean =>
  vector < 32 && ((0x227d00 >>> vector) & 1) === 1;

/** __print_symbolic: the name, or the value as `0x%lx` when the table has none. */
const symbolic = (names: ReadonlyMap<number, string>, v: number): string => names.get(v) ?? hx(v);

const u64 = (v: bigint): string => BigInt.asUintN(64, v).toString(16);
/** `%0<w>x` / `%0<w>llx` of an unsigned value. */
const zx = (v: number, w: number): string => (v >>> 0).toString(16).padStart(w, '0');
const zx64 = (v: number): string => v.toString(16).padStart(16, '0');

/**
 * The printk text of an exit/injection/MSR tracepoint, as the 6.18 kernel prints it; `vcpu` is the
 * vcpu_id. Fields the model does not have are printed as the constants docs/simulator.md lists:
 * kvm_exit's rip, info2 and requests and kvm_entry's rip are 0, kvm_exit's error_code is 0.
 */
export function formatKvmEvent(
  tp: number,
  vcpu: number,
  a: number,
  b: number,
  c: number,
  x: bigint,
  xs: readonly bigint[] | null,
): string {
  switch (tp) {
    case TP_KVM_EXIT:
      // VMX: the basic reason's name; no flag bits (the model has no failed VM entry).
      return `vcpu ${vcpu} reason ${symbolic(VMX_EXIT_REASON_NAMES, a & 0xffff)} rip 0x0 info1 0x${zx64(b)} info2 0x${zx64(0)} intr_info 0x${zx(c, 8)} error_code 0x${zx(0, 8)} requests 0x${zx64(0)}`;
    case TP_KVM_ENTRY:
      return `vcpu ${vcpu}, rip 0x0 intr_info 0x${zx(a, 8)} error_code 0x${zx(b, 8)}`;
    case TP_KVM_INJ_EXCEPTION: {
      const err = exceptionHasErrorCode(a) ? ` (${hx(b >>> 0)})` : '';
      return `${symbolic(EXCEPTION_NAMES, a)}${err}${c ? ' [reinjected]' : ''}`;
    }
    case TP_KVM_INJ_VIRQ:
      return `${b ? 'Soft/INTn' : 'IRQ'} ${hx(a)}${c ? ' [reinjected]' : ''}`;
    case TP_KVM_APIC_ACCEPT_IRQ:
      return `apicid ${a.toString(16)} vec ${b & 0xff} (${DELIVERY_MODES[(c >> 8) & 7]}|${c & 0x8000 ? 'level' : 'edge'})`;
    case TP_KVM_MSR:
      return `msr_${b ? 'write' : 'read'} ${(a >>> 0).toString(16)} = 0x${u64(x)}${c ? ' (#GP)' : ''}`;
    case TP_KVM_HYPERCALL: {
      const arg = (i: number): string => `0x${u64(xs?.[i] ?? 0n)}`;
      return `nr 0x${u64(x)} a0 ${arg(0)} a1 ${arg(1)} a2 ${arg(2)} a3 ${arg(3)}`;
    }
    case TP_KVM_CPUID: {
      const r = (i: number): string => u64(xs?.[i] ?? 0n);
      return `func ${(a >>> 0).toString(16)} idx ${(b >>> 0).toString(16)} rax ${r(0)} rbx ${r(1)} rcx ${r(2)} rdx ${r(3)}, cpuid entry ${c & 1 ? 'found' : 'not found'}${c & 2 ? ', used max basic' : ''}`;
    }
    default:
      throw new Error(`unknown tracepoint ${tp}`);
  }
}
