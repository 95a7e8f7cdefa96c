// What an x86 script asks of the guest and the host, op by op, and how the bare test guest's handlers
// behave: the types the bare guest interprets, as src/script/schema.ts parses them (docs/scenarios.md).
// The schema is checked against these types (`satisfies`), so the two cannot drift apart.

/** Fields every op has: the vCPU it runs on (0 when absent). */
interface OpBase {
  vcpu?: number | undefined;
}

/** Guest memory access sizes in bytes. */
export type MemSize = 1 | 2 | 4 | 8;

export type Op = OpBase &
  (
    | { op: 'wrmsr'; msr: number; value: bigint }
    | { op: 'rdmsr'; msr: number }
    | { op: 'host_set_msr'; msr: number; value: bigint }
    | { op: 'host_get_msr'; msr: number }
    | { op: 'write_mem'; gpa: bigint; size: MemSize; value: bigint }
    | { op: 'read_mem'; gpa: bigint; size: MemSize }
    | { op: 'apic_enable'; mode: 'xapic' | 'x2apic' }
    | { op: 'sti' }
    | { op: 'cli' }
    | { op: 'hlt' }
    | {
        op: 'touch';
        gpa: bigint;
        cpl: 0 | 3;
        write: boolean;
        /** Fault-in latency on the host (ns) for a page that is not resident. */
        backing?: { delay: number } | undefined;
        /**
         * false: after a 'not present' #PF the guest gives up on the access (as a kernel would switch to
         * another task) and the op reports the token; the page-ready arrives during later ops.
         */
        retry: boolean;
      }
    | { op: 'set_cr0_pg'; value: boolean }
    | { op: 'set_cr3'; value: bigint }
    | { op: 'init' }
    | { op: 'smi' }
    | { op: 'rsm' }
    | { op: 'enter_l2' }
    | { op: 'leave_l2' }
    /** Only with the Linux guest: stop after this much virtual time (ns) even if work is left. */
    | { op: 'run'; for?: number | undefined }
    /** Only with the Linux guest: CPU hotplug (or with `shutdown` the reboot/crash path). */
    | { op: 'cpu_offline'; shutdown: boolean }
    /** Only with the Linux guest: INIT + SIPI + kvm_cpu_online. */
    | { op: 'cpu_online' }
    // issue 17 (docs/peer-suites.md): what the peer suites and VMMs do.
    /** Guest CPUID of a KVM leaf (0x40000000 or 0x40000001); the value of one register. */
    | { op: 'cpuid'; leaf: number; reg: 'eax' | 'ebx' | 'ecx' | 'edx' }
    /** Guest VMCALL/VMMCALL at CPL 0: RAX = nr, RBX, RCX, RDX, RSI = args; the value is RAX after. */
    | { op: 'hypercall'; nr: bigint; args: bigint[]; insn: 'vmcall' | 'vmmcall' }
    /** KVM_SET_MSRS with several entries: the value is the count KVM processed (it stops at a failure). */
    | { op: 'host_set_msrs'; entries: Array<{ msr: number; value: bigint }> }
    /** KVM_GET_LAPIC, the given registers changed, KVM_SET_LAPIC (absent fields keep their value). */
    | { op: 'host_set_lapic'; svr?: number | undefined; tpr?: number | undefined }
    /** KVM_GET_LAPIC: the value of one register. */
    | { op: 'host_get_lapic'; reg: 'svr' | 'tpr' }
  );

/** The bare test guest's exception and interrupt handlers. */
export interface Handlers {
  page_ready: {
    clear_token: boolean;
    /** The value written to MSR_KVM_ASYNC_PF_ACK, or false for no ACK. */
    ack: bigint | false;
    /** When the handler EOIs: `last` (after the ACK, as kvm-unit-tests), `first` (as Linux), or `false`. */
    eoi: 'first' | 'last' | false;
    /**
     * A guest-programmed handler (issue 17, docs/peer-suites.md): these actions, in order, one a step,
     * instead of the fixed program above (`clear_token` and `eoi` above are then not used; `ack` gives the
     * value the `ack` action writes). Only in scripts (the explorer's bare guest has none).
     */
    actions?: PageReadyAction[] | undefined;
  };
  page_fault: {
    clear_flags: boolean;
    wait_for_ready: boolean;
    /**
     * A guest-programmed handler for a 'page not present' #PF (flags = 1): these actions, in order, one
     * a step, then IRET; any other #PF takes the fixed program above. Only in scripts.
     */
    not_present?: PageFaultAction[] | undefined;
  };
}

/**
 * What a guest-programmed #PF handler can do (kvm-unit-tests x86/asyncpf.c, the 2024 interrupt version):
 * `clear_flags` (write 0 to the area's flags), `save_token` (remember CR2, the token), `unmap` (clear the
 * guest PTE of the page the interrupted access touches; the guest is identity-mapped), `reload_cr3` (MOV
 * CR3, CR3), `wait_ready` (cli-test-sti-hlt until a page-ready `wake` names its token; IF ends clear),
 * `wait_remapped` (kut's `while (phys) safe_halt();`: sti-hlt until the page `unmap` cleared is mapped
 * again by a `remap`; IF ends set, as after safe_halt).
 */
export const PAGE_FAULT_ACTIONS = [
  'clear_flags',
  'save_token',
  'unmap',
  'reload_cr3',
  'wait_ready',
  'wait_remapped',
] as const;
export type PageFaultAction = (typeof PAGE_FAULT_ACTIONS)[number];

/**
 * What a guest-programmed page-ready interrupt handler can do; the token is the one read at entry:
 * `clear_token` (write 0 to the area's token), `ack` (WRMSR MSR_KVM_ASYNC_PF_ACK), `eoi`, `wake` (mark the
 * #PF waiters of the token ready), `remap` (kut: the saved token: install the PTE `unmap` cleared again;
 * 0xffffffff: the wakeup-all, nothing; any other token: the event `unexpected_token`, kut's report_fail).
 * On another vector only `eoi` acts.
 */
export const PAGE_READY_ACTIONS = ['clear_token', 'ack', 'eoi', 'wake', 'remap'] as const;
export type PageReadyAction = (typeof PAGE_READY_ACTIONS)[number];
