// The state of a modelled s390 host: the GIB, each VM's GISA and gisa_interrupt, the floating-interrupt
// lists and the vCPUs. Plain mutable records (no classes, no Maps), so deterministic steps can change them
// in place and codec.ts can pack them into an Int32Array for an explicit-state explorer. Field names keep the
// kernel's spelling so a grep finds both codebases.
import { MAX_ISC, NULL_GISA_ADDR, SIE_PAGE2_GISA_OFFSET } from '../abi/s390_gisa.ts';
import { resolveConfig, type S390Config, type S390ConfigInput, strategyTraits } from './strategy.ts';

/** Where a vCPU thread is. HOST: outside SIE in the run loop; HALTED: blocked in kvm_s390_handle_wait. */
export const VCPU_HOST = 0;
export const VCPU_IN_SIE = 1;
export const VCPU_HALTED = 2;
export const VCPU_GONE = 3;
export type VcpuRunState = typeof VCPU_HOST | typeof VCPU_IN_SIE | typeof VCPU_HALTED | typeof VCPU_GONE;
export const VCPU_STATE_NAMES = ['host', 'in_sie', 'halted', 'gone'] as const;

/**
 * kvm_s390_gisa_destroy progress; SPINNING is the pre-6.6 busy-wait on a listed GISA, WALK_WAIT the what-if
 * wait for in-flight alert-list walks (`destroy_waits_for_walks`, not in any kernel).
 */
export const DESTROY_NONE = 0;
export const DESTROY_SPINNING = 1;
export const DESTROY_DONE = 2;
export const DESTROY_WALK_WAIT = 3;
export const DESTROY_NAMES = ['none', 'spinning', 'done', 'waiting for walks'] as const;

/** What an alert-list walk did to a GISA whose sie_page2 kvm_arch_destroy_vm had freed (VmState.walk_uaf bits). */
export const UAF_UNLINK = 1;
export const UAF_KICK = 2;

/** Lowcore I/O interruption parameters of the last I/O interruption a vCPU took (0s: none yet). */
export interface IoInfo {
  subchannel_id: number;
  subchannel_nr: number;
  io_int_parm: number;
  io_int_word: number;
}

/** One kvm_s390_interrupt_info on a classic per-ISC floating list. */
export interface ClassicIo extends IoInfo {
  /** The type had KVM_S390_INT_IO_AI_MASK (an AI queued classically because the VM has no GISA). */
  ai: boolean;
}

export interface VcpuState {
  readonly vcpu_id: number;
  readonly vcpu_idx: number;
  state: VcpuRunState;
  /** Guest PSW interruption masks. */
  psw_io: boolean;
  psw_ext: boolean;
  psw_mchk: boolean;
  /** (u8)(gcr[6] >> 24): the ISCs the guest enabled in CR6. */
  cr6: number;
  /** SIE cpuflags: CPUSTAT_WAIT, CPUSTAT_IO_INT, ... */
  cpuflags: number;
  valid_wakeup: boolean;
  /** kvm_vcpu_wake_up() hit this halted vCPU; its thread has not re-checked kvm_vcpu_check_block yet. */
  wakeup_pending: boolean;
  /** Clock-comparator/CPU-timer setting seen by handle_wait: -1 none enabled, 0 already expired, >0 ns. */
  ckc_ns: number;
  /** The vCPU's ckc hrtimer: absolute expiry in ns, -1 when inactive; seq orders equal expiries. */
  ckc_timer_at: number;
  ckc_timer_seq: number;
  /** A clock-comparator interruption is pending (kvm_cpu_has_pending_timer). */
  ckc_pending: boolean;
  /** SIE gd (GISA designation; the format bit is not modelled) and ECA_AIV. */
  gd: number;
  eca_aiv: boolean;
  lowcore: IoInfo;
  /**
   * Kernel counters (deliver_io, exit_wait_state, halt_wakeup) plus model counters: sie_presented (H2),
   * kick_wakeup (halt_wakeup caused by the alert machinery: the kicker, v5's cover kick, v3/v4's kick).
   */
  stat: {
    deliver_io: number;
    exit_wait_state: number;
    halt_wakeup: number;
    sie_presented: number;
    kick_wakeup: number;
  };
}

export interface GisaWord0 {
  /** Own address when not listed; otherwise the next list entry (a GISA, NULL or NONE). */
  next_alert: number;
  ipm: number;
  iam: number;
}

/** struct kvm_s390_gisa_interrupt. */
export interface GisaInterrupt {
  /** Address of the GISA, or NULL_GISA_ADDR when the VM does not use one. */
  origin: number;
  /** alert.mask: the IAM "restore value", OR of the registered guest ISCs. */
  mask: number;
  /** alert.ref_count[MAX_ISC + 1]. */
  ref_count: number[];
  /** The kicker hrtimer: absolute expiry in ns, -1 when inactive; seq orders equal expiries. */
  timer_at: number;
  timer_seq: number;
  expires: number;
  kicked_mask: number;
}

/** struct kvm_s390_float_interrupt, reduced to the I/O classes. */
export interface FloatInterrupt {
  lists: ClassicIo[][];
  /** pending_irqs I/O bits as an ISC mask byte (0x80 >> isc): list isc is non-empty. */
  pending: number;
  /** counters[FIRQ_CNTR_IO]. */
  io_counter: number;
  next_rr_cpu: number;
  last_sleep_cpu: number;
}

export interface VmState {
  readonly name: string;
  readonly index: number;
  /** Address of sie_page2 (31-bit, page aligned); the GISA lives at +0x900. */
  readonly sie_page2: number;
  readonly gisa_addr: number;
  gisa: GisaWord0;
  gi: GisaInterrupt;
  idle_mask: number;
  fi: FloatInterrupt;
  vcpus: VcpuState[];
  online_vcpus: number;
  /** v3 only: number of vCPUs in SIE. */
  vcpus_in_sie: number;
  destroy: number;
  /**
   * kvm_arch_destroy_vm ran for this VM: once its kvm_s390_gisa_destroy has returned (destroy DONE), sie_page2 —
   * which holds the GISA and the `kvm` back-pointer — is freed (S8). gisa_disable alone frees nothing.
   */
  arch_destroyed: boolean;
  /**
   * An alert-list walk touched this VM's GISA after sie_page2 was freed (a use-after-free in the kernel,
   * spec §6 item 11): UAF_UNLINK read and wrote next_alert, UAF_KICK read `->kvm` and started the kicker.
   * Recorded, not thrown; the property no-walk-after-destroy reads it.
   */
  walk_uaf: number;
  /** Explorer bound: firmware AIs the environment may still make pending. */
  ai_budget: number;
  /** inject_io is the kernel's; the rest are model counters a simulator reads (alerts: linked by millicode). */
  stat: {
    inject_io: number;
    kicker_calls: number;
    kicker_restarts: number;
    kicks: number;
    iam_restores: number;
    alerts: number;
    unlinks: number;
  };
}

/**
 * One run of process_gib_alert_list, split into micro-steps as the kernel's loop body is (O11 step c): an xchg;
 * the unlink of the GISA at `origin` (read its next_alert, store its own address); then, for that GISA (`cur`),
 * container_of(gisa, struct sie_page2, gisa)->kvm and the kicker's hrtimer_cancel/hrtimer_start.
 */
export interface AlertWalk {
  /** 0 idle, 1 next step is an xchg, 2 next step unlinks the GISA at `origin`, 3 next step kicks `cur`'s VM. */
  phase: number;
  origin: number;
  /** The GISA unlinked last, whose VM the KICK step reaches through sie_page2 (0 outside phase 3). */
  cur: number;
  final: boolean;
  xchgs: number;
}
export const WALK_IDLE = 0;
export const WALK_XCHG = 1;
export const WALK_UNLINK = 2;
export const WALK_KICK = 3;

export interface GibState {
  readonly addr: number;
  alert_list_origin: number;
  nisc: number;
}

/** An event a step reports, in order; `event` names it, the rest is plain data. */
export type S390Event = { event: string } & Record<string, unknown>;

export interface S390World {
  readonly cfg: S390Config;
  /** Virtual time in ns; only timer firing and `advance` move it. */
  now: number;
  /** Timer-arming sequence number: (expiry, seq) totally orders timers. */
  seq: number;
  /** kvm_arch_init succeeded (kvm_s390_gib_init returned 0); VMs can be created. */
  kvm_loaded: boolean;
  gib: GibState | null;
  adapter_registered: boolean;
  /** GIB origin the channel subsystem was told via CHSC set-GIB (0: none). */
  chsc_gib_origin: number;
  /** The GAL adapter interruption is pending at the host (raised by millicode, not yet taken). */
  gal_pending: boolean;
  /** The interrupt-context run of process_gib_alert_list. */
  walk: AlertWalk;
  vms: VmState[];
  /** IRQIO_GAL is the kernel's; walks counts every process_gib_alert_list run (interrupt or destroy). */
  stat: { IRQIO_GAL: number; gal_raised: number; xchg: number; walks: number };
  /** Events of the steps run since the last drain; not part of the state. */
  events: S390Event[];
  /**
   * Whether steps record events. Scripts and tests read them; a simulator or an explorer running millions of
   * steps turns this off, so a step builds no event objects (and formats no hex strings) at all.
   */
  tracing: boolean;
}

/** Address of the one GIB page (31-bit DMA memory). */
export const GIB_ADDR = 0x00010000;
/** sie_page2 of VM n is at SIE_PAGE2_BASE + n * 0x1000. */
export const SIE_PAGE2_BASE = 0x00200000;
/** Bitmaps are JS int32s; the model supports this many vCPUs per VM. */
export const MAX_MODEL_VCPUS = 31;

export function createWorld(input: S390ConfigInput = {}): S390World {
  return {
    cfg: resolveConfig(input),
    now: 0,
    seq: 0,
    kvm_loaded: false,
    gib: null,
    adapter_registered: false,
    chsc_gib_origin: 0,
    gal_pending: false,
    walk: { phase: WALK_IDLE, origin: 0, cur: 0, final: false, xchgs: 0 },
    vms: [],
    stat: { IRQIO_GAL: 0, gal_raised: 0, xchg: 0, walks: 0 },
    events: [],
    tracing: true,
  };
}

export function createVcpu(vcpu_id: number, vcpu_idx: number): VcpuState {
  return {
    vcpu_id,
    vcpu_idx,
    state: VCPU_HOST,
    psw_io: true,
    psw_ext: true,
    psw_mchk: true,
    cr6: 0xff,
    cpuflags: 0,
    valid_wakeup: false,
    wakeup_pending: false,
    ckc_ns: -1,
    ckc_timer_at: -1,
    ckc_timer_seq: 0,
    ckc_pending: false,
    gd: 0,
    eca_aiv: false,
    lowcore: { subchannel_id: 0, subchannel_nr: 0, io_int_parm: 0, io_int_word: 0 },
    stat: { deliver_io: 0, exit_wait_state: 0, halt_wakeup: 0, sie_presented: 0, kick_wakeup: 0 },
  };
}

/** The VM record before kvm_s390_gisa_init (origin NULL, everything zero, as in a zeroed struct kvm). */
export function createVmRecord(name: string, index: number, vcpu_ids: readonly number[]): VmState {
  const sie_page2 = SIE_PAGE2_BASE + index * 0x1000;
  const lists: ClassicIo[][] = [];
  for (let isc = 0; isc <= MAX_ISC; isc++) lists.push([]);
  return {
    name,
    index,
    sie_page2,
    gisa_addr: sie_page2 + SIE_PAGE2_GISA_OFFSET,
    // next_alert = own address ("not listed") even before gisa_init, so a VM without GISA never looks listed.
    gisa: { next_alert: sie_page2 + SIE_PAGE2_GISA_OFFSET, ipm: 0, iam: 0 },
    gi: {
      origin: NULL_GISA_ADDR,
      mask: 0,
      ref_count: new Array(MAX_ISC + 1).fill(0),
      timer_at: -1,
      timer_seq: 0,
      expires: 0,
      kicked_mask: 0,
    },
    idle_mask: 0,
    fi: { lists, pending: 0, io_counter: 0, next_rr_cpu: 0, last_sleep_cpu: 0 },
    vcpus: vcpu_ids.map((id, idx) => createVcpu(id, idx)),
    online_vcpus: vcpu_ids.length,
    vcpus_in_sie: 0,
    destroy: DESTROY_NONE,
    arch_destroyed: false,
    walk_uaf: 0,
    ai_budget: 0,
    stat: {
      inject_io: 0,
      kicker_calls: 0,
      kicker_restarts: 0,
      kicks: 0,
      iam_restores: 0,
      alerts: 0,
      unlinks: 0,
    },
  };
}

export const traits = (w: S390World) => strategyTraits(w.cfg.strategy);

export function emit(w: S390World, e: S390Event): void {
  w.events.push(e);
}

/**
 * The VM owning a GISA address (container_of(gisa, struct sie_page2, gisa)->kvm). VM n's GISA is at a fixed
 * address, so this is arithmetic, not a search: the alert-list walk and the invariants call it per entry.
 */
export function vmByGisa(w: S390World, addr: number): VmState | undefined {
  const n = (addr - SIE_PAGE2_BASE - SIE_PAGE2_GISA_OFFSET) / 0x1000;
  const vm = Number.isInteger(n) ? w.vms[n] : undefined;
  return vm !== undefined && vm.gisa_addr === addr ? vm : undefined;
}

/** "a/1": how events name a vCPU. */
export const vcpuName = (vm: VmState, v: VcpuState): string => `${vm.name}/${v.vcpu_idx}`;
