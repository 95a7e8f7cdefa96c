// The records a guest model reports while a script runs (op results, guest-visible events, tracepoints,
// task and sleep-table summaries), and the hex spelling of their values. They sit below the script runners
// because the guests produce them; src/script/transcript.ts collects them into a transcript and formats it.

/** The outcome of one script op. `result` is "ok", "#GP" (guest access faulted), "rejected" (a host
 * KVM_SET_MSRS/KVM_GET_MSRS processed 0 MSRs), "#PF" (a touch of a page whose guest PTE a
 * guest-programmed handler cleared: the guest's own page fault, which kvm-unit-tests reports as a
 * failure), "hang" (the op can never complete) or "kvm_run_error" (vm.mmu_caches: KVM_RUN returned
 * `errno` to the VMM; the guest instruction did not complete). */
export interface OpRecord {
  op: number;
  kind: string;
  vcpu?: number;
  result: 'ok' | '#GP' | '#PF' | 'rejected' | 'hang' | 'kvm_run_error';
  value?: string;
  /** With result kvm_run_error: what KVM_RUN returned, e.g. "-ENOMEM". */
  errno?: string;
  /**
   * Host memory operations (vm.mmu_notifiers): what KVM's notifier side saw, as deltas of its statistics
   * over the op: invalidate_range_start calls (one kvm_unmap_hva_range each, in range or not), SPTEs they
   * zapped, change_pte calls and those that found an SPTE; then the SPTEs still present in the op's guest
   * pages. host_age reports `young` (the callback's answer) instead.
   */
  invalidations?: number;
  zapped?: number;
  change_pte?: number;
  change_pte_spte?: number;
  mapped?: number;
  young?: number;
  /**
   * Guest-mapping ops (vm.maps): the kernel function's return (`ok` or an errno name such as -EINVAL), the
   * map's fields after the op, whether it still names the frame backing its gfn, and after an unmap with
   * dirty logging on whether the gfn is in the dirty log. Host memory operations in such a VM add `moved`:
   * pages whose host frame changed.
   */
  ret?: string;
  map?: string;
  coherent?: boolean;
  dirty_logged?: boolean;
  moved?: number;
}

/**
 * Scripts with vm.maps, at the end: callers' maps still mapped, the references and FOLL_PIN pins KVM
 * still holds (a steal-time gfn_to_pfn_cache keeps one until the vCPU goes away), kunmaps of memremapped
 * addresses (unmap-poison-page-check), pages freed while their owner used them
 * (refcount-nonrefcounted-page), and with dirty logging the pages in the dirty log.
 */
export interface MapsRecord {
  maps: 'end';
  mapped: number;
  refs: number;
  pins: number;
  kunmap_of_remap: number;
  freed_in_use: number;
  dirty_log?: string;
}

/** Something the guest saw or did on its own (handlers), or a guest crash. */
export type EventRecord =
  | { event: 'irq'; vcpu?: number; vector: string; token?: string; flags?: string }
  | { event: '#PF'; vcpu?: number; cr2: string; error_code: string; flags?: string }
  | { event: 'ack'; vcpu?: number; value: string; result: 'ok' | '#GP' }
  | { event: 'pf_vmexit'; vcpu?: number; address: string; flags?: string }
  | { event: 'exception'; vcpu?: number; vector: string; error_code: string }
  | { event: 'shutdown'; vcpu?: number; reason: string }
  /** Guest-programmed handlers (handlers.*.actions): the guest PTE of `address` cleared, installed again. */
  | { event: 'unmap'; vcpu?: number; address: string }
  | { event: 'remap'; vcpu?: number; token: string; address?: string }
  /** A page-ready `remap` action saw a token it did not save (kvm-unit-tests' report_fail). */
  | { event: 'unexpected_token'; vcpu?: number; token: string }
  | { event: 'guest_panic'; vcpu?: number; reason: string }
  | { event: 'warning'; vcpu?: number; message: string }
  | { event: 'host_warning'; vcpu?: number; message: string }
  /** A kernel BUG (vm.mmu_caches: an empty memory cache up to 5.8): the host is dead, the script stops. */
  | { event: 'host_bug'; vcpu?: number; message: string };

/** A kernel tracepoint, only with --trace-events: the name and its printk text (x86-apf §7). */
export interface TraceRecord {
  trace: string;
  vcpu?: number;
  text: string;
}

/**
 * Scripts with a Linux guest: how each task ended, after the last op. `finished` (it ran off its
 * program), `hung` (it waits for a 'page ready' that never came: `token`, and `wait: "halt"` for a legacy
 * halted wait), or `unfinished` (still runnable when the script ended: a panic, a spinning vCPU, or ops
 * that never ran it).
 */
export interface TaskRecord {
  task: number;
  vcpu?: number;
  result: 'finished' | 'hung' | 'unfinished';
  token?: string;
  wait?: 'halt';
}

/**
 * Scripts with a Linux guest: the sleep table's dummy entries at the end. `created` by wakes that found
 * no waiter, `consumed` by the fault they stood for, `leaked` (unlinked by a wake without being freed,
 * x86-apf §9 item 6), `freed` (unlinked and freed by the hypothetical fixed wake-all), `hashed` (still in
 * the table: never consumed).
 */
export interface DummiesRecord {
  dummies: 'sleep_table';
  created: number;
  consumed: number;
  leaked: number;
  freed: number;
  hashed: number;
}

/**
 * Scripts with vm.mmu_notifiers: KVM's MMU statistics at the end. `pf_taken`: guest page faults KVM
 * handled (a refault after a zap counts); `pf_retry_stale`: faults the invalidation retry check sent back;
 * `warns`: WARN/KVM_BUG_ON hits of the notifier callbacks.
 */
export interface KvmStatRecord {
  kvm_stat: 'mmu';
  pf_taken: number;
  /** Model only: the kernel keeps no counter of stale faults, and the kvm backend reads no WARNs. */
  pf_retry_stale?: number;
  warns?: number;
  /**
   * vm.mmu_caches (model only): mmu_topup_memory_caches calls, those that failed and those that allocated
   * anything, the most objects one fault (or root load) took, objects the host
   * allocated and freed for KVM's MMU, allocations that found a cache empty, GFP_ATOMIC emergency
   * allocations, page tables (roots included) allocated, and the idle objects left in vCPU 0's caches,
   * in bytes.
   */
  topups?: number;
  topup_failures?: number;
  topups_allocating?: number;
  max_objects_per_fault?: number;
  objects_allocated?: number;
  objects_freed?: number;
  empty_cache_allocs?: number;
  emergency_allocs?: number;
  page_tables?: number;
  idle_cache_bytes?: number;
}

/**
 * The kvm backend, scripts with vm.mmu_notifiers: the host's userfaultfd received a MISSING fault for
 * the guest RAM page at `gpa` (a touch of a `backing` page, or the refault of a page host_dontneed
 * dropped). Kernel only; `kvmsim diff` leaves it out (the model's refaults show in kvm_stat pf_taken).
 */
export interface UffdRecord {
  uffd: 'missing';
  gpa: string;
}

export type TranscriptRecord =
  | OpRecord
  | EventRecord
  | TraceRecord
  | TaskRecord
  | DummiesRecord
  | KvmStatRecord
  | UffdRecord
  | MapsRecord;

export const hex = (v: number | bigint): string => `0x${v.toString(16)}`;
