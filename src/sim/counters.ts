// Indices of the simulator's own per-VM counters (Simulator.count[vm * NCOUNT + K_*]) and of the vCPU
// time categories (Simulator.time[vcpu * NCAT + T_*]). Model-side statistics (vcpu.stat, the guest's
// counters) are read from the model when metrics are collected; these are what only the simulator sees.

// vCPU time categories: every nanosecond of every vCPU is in exactly one.
/** Guest task work: compute bursts and accesses that stay in the guest. */
export const T_TASK = 0;
/** Guest kernel outside APF handling: context switches, boot ops. */
export const T_KERNEL = 1;
/** APF handling and exits: VM exits/entries, injections, guest handlers, ACK, prefaults, minor faults, HLT exits. */
export const T_EXITS = 2;
/** Blocked in HLT (the guest had nothing to run). */
export const T_IDLE = 3;
/** Blocked in the artificial halt (KVM_REQ_APF_HALT). */
export const T_HALTED = 4;
/** Blocked in a synchronous host fault-in (including the prefault of a re-evicted page). */
export const T_SYNC = 5;
export const NCAT = 6;
export const CAT_NAMES = ['task', 'guest_kernel', 'apf_exits', 'idle', 'apf_halted', 'sync_blocked'] as const;

export const K_EXITS = 0;
export const K_PF_INJECTED = 1;
export const K_IRQ_INJECTED = 2;
export const K_ASYNC_TRIED = 3;
export const K_REPEATED = 4;
export const K_WORKS = 5;
export const K_QUEUE_FULL = 6;
export const K_PREFAULT_SYNC = 7;
export const K_WAKEUP_ALL = 8;
export const K_MINOR = 9;
export const K_IO = 10;
export const K_SLOT_BUSY = 11;
export const K_SLOT_BUSY_NS = 12;
export const K_QUEUED_AREA = 13;
export const K_WARNINGS = 14;
export const K_TICKS = 15;
export const K_PREEMPTIONS = 16;
export const NCOUNT = 17;
