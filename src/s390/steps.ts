// Every way the modelled world can move, as one discriminated union of steps: hardware/millicode events,
// host operations, timer callbacks and vCPU actions. applyStep mutates the world in place and reports the
// kernel's answer; enabledSteps lists what a scheduler may pick next (an explorer tries all of them, a DES
// picks by time). Steps address VMs and vCPUs by index; the script layer maps names to indices.
import { GAL_ISC } from '../abi/s390_gisa.ts';
import { alertWalkStep, gib_alert_irq_handler } from './alert_list.ts';
import {
  get_all_floating_irqs,
  kvm_s390_deliver_pending_interrupts,
  kvm_s390_get_io_int,
} from './deliver.ts';
import { rcName } from './errno.ts';
import { type IoInject, kvm_s390_clear_float_irqs, kvm_s390_inject_vm } from './float_irq.ts';
import { type GibInitFault, kvm_s390_gib_destroy, kvm_s390_gib_init } from './gib.ts';
import { gisa_in_alert_list } from './gisa.ts';
import { destroySpin, kvm_s390_gisa_disable, kvm_s390_gisa_enable } from './gisa_lifecycle.ts';
import { kvm_s390_gisc_register, kvm_s390_gisc_unregister } from './gisc.ts';
import { hex32, iscsOf } from './isc.ts';
import { gisa_vcpu_kicker } from './kicker.ts';
import { firmware_ai, sie_present, sieDeliverable } from './millicode.ts';
import { earliestTimer } from './timers.ts';
import {
  kvm_s390_handle_wait,
  kvm_s390_idle_wakeup,
  setCr6,
  setPsw,
  vcpu_check_block,
  vcpu_enter_sie,
  vcpu_leave_sie,
} from './vcpu.ts';
import { kvm_arch_destroy_vm } from './vm.ts';
import {
  DESTROY_SPINNING,
  DESTROY_WALK_WAIT,
  type S390World,
  traits,
  VCPU_HALTED,
  VCPU_HOST,
  VCPU_IN_SIE,
  VCPU_STATE_NAMES,
  type VcpuState,
  type VmState,
  WALK_IDLE,
} from './world.ts';

type OnVm = { vm: number };
type OnVcpu = { vm: number; vcpu: number };

export type S390Step =
  | { kind: 'gib_init'; fault?: GibInitFault }
  | { kind: 'gib_destroy' }
  | ({ kind: 'gisc_register'; gisc: number } & OnVm)
  | ({ kind: 'gisc_unregister'; gisc: number } & OnVm)
  | ({ kind: 'firmware_ai'; isc: number } & OnVm)
  | ({ kind: 'inject_io'; io: IoInject } & OnVm)
  | ({ kind: 'sie_present' } & OnVcpu)
  | { kind: 'gal_irq' }
  | { kind: 'gal_step' }
  | ({ kind: 'kicker_fire' } & OnVm)
  | ({ kind: 'ckc_fire' } & OnVcpu)
  | ({ kind: 'enter_sie' } & OnVcpu)
  | ({ kind: 'leave_sie' } & OnVcpu)
  | ({ kind: 'wait' } & OnVcpu)
  | ({ kind: 'resume' } & OnVcpu)
  | ({ kind: 'deliver' } & OnVcpu)
  | ({ kind: 'set_psw'; io?: boolean; ext?: boolean; mchk?: boolean } & OnVcpu)
  | ({ kind: 'set_cr6'; mask: number } & OnVcpu)
  | ({ kind: 'set_ckc'; ns: number } & OnVcpu)
  | ({ kind: 'tpi'; isc_mask: number; schid: number; alloc_fail?: boolean } & OnVm)
  | ({ kind: 'migrate_read'; len: number } & OnVm)
  | ({ kind: 'clear' } & OnVm)
  | ({ kind: 'destroy' } & OnVm)
  | ({ kind: 'destroy_spin' } & OnVm)
  | ({ kind: 'gisa_enable' } & OnVm)
  | ({ kind: 'gisa_disable' } & OnVm);

/** The kernel's answer ("ok", "-EBUSY", …), or "blocked"/"stall"/"invalid", plus op-specific details. */
export type StepOutcome = { result: string } & Record<string, unknown>;

const invalid = (why: string): StepOutcome => ({ result: 'invalid', why });

function needState(v: VcpuState, ...states: number[]): StepOutcome | null {
  return states.includes(v.state) ? null : invalid(`vCPU is ${VCPU_STATE_NAMES[v.state]}`);
}

function vcpuStep(w: S390World, vm: VmState, v: VcpuState, s: S390Step): StepOutcome {
  switch (s.kind) {
    case 'sie_present': {
      const isc = sie_present(w, vm, v);
      return isc < 0 ? invalid('nothing the SIE can present') : { result: 'ok', isc };
    }
    case 'ckc_fire':
      if (v.ckc_timer_at < 0) return invalid('ckc timer not armed');
      w.now = Math.max(w.now, v.ckc_timer_at);
      kvm_s390_idle_wakeup(w, vm, v);
      return { result: 'ok' };
    case 'enter_sie': {
      const bad = needState(v, VCPU_HOST);
      if (bad) return bad;
      vcpu_enter_sie(w, vm, v);
      return { result: 'ok' };
    }
    case 'leave_sie': {
      const bad = needState(v, VCPU_IN_SIE);
      if (bad) return bad;
      vcpu_leave_sie(w, vm, v);
      return { result: 'ok' };
    }
    case 'wait': {
      const bad = needState(v, VCPU_IN_SIE, VCPU_HOST);
      if (bad) return bad;
      if (v.state === VCPU_IN_SIE) vcpu_leave_sie(w, vm, v);
      const r = kvm_s390_handle_wait(w, vm, v);
      return { result: r.path === 'blocked' ? 'blocked' : rcName(r.rc), path: r.path };
    }
    case 'resume':
      return needState(v, VCPU_HALTED) ?? { result: 'ok', halt: vcpu_check_block(w, vm, v) };
    case 'deliver':
      return (
        needState(v, VCPU_HOST) ?? { result: 'ok', delivered: kvm_s390_deliver_pending_interrupts(w, vm, v) }
      );
    case 'set_psw':
      setPsw(v, s);
      return { result: 'ok' };
    case 'set_cr6':
      setCr6(w, vm, v, s.mask);
      return { result: 'ok' };
    case 'set_ckc':
      v.ckc_ns = s.ns;
      return { result: 'ok' };
    default:
      return invalid(`not a vCPU step: ${s.kind}`);
  }
}

function vmStep(w: S390World, vm: VmState, s: S390Step): StepOutcome {
  switch (s.kind) {
    case 'gisc_register': {
      const rc = kvm_s390_gisc_register(w, vm, s.gisc);
      return rc >= 0 ? { result: 'ok', rc } : { result: rcName(rc) };
    }
    case 'gisc_unregister':
      return { result: rcName(kvm_s390_gisc_unregister(w, vm, s.gisc)) };
    case 'firmware_ai': {
      const outcome = firmware_ai(w, vm, s.isc);
      if (outcome === 'no_gisa') return invalid('the VM has no GISA');
      if (vm.ai_budget > 0) vm.ai_budget--;
      return { result: 'ok', outcome };
    }
    case 'inject_io':
      return { result: rcName(kvm_s390_inject_vm(w, vm, s.io)) };
    case 'kicker_fire':
      if (vm.gi.timer_at < 0) return invalid('kicker timer not armed');
      w.now = Math.max(w.now, vm.gi.timer_at);
      return { result: 'ok', ret: gisa_vcpu_kicker(w, vm) };
    case 'tpi': {
      const r = kvm_s390_get_io_int(w, vm, s.isc_mask, s.schid, s.alloc_fail);
      if (r.kind === 'none') return { result: 'ok', got: 'none' };
      if (r.kind === 'ai') return { result: 'ok', got: 'ai', isc: r.isc };
      return { result: 'ok', got: 'classic', isc: (r.entry.io_int_word >>> 27) & 7, ai: r.entry.ai };
    }
    case 'migrate_read': {
      const r = get_all_floating_irqs(vm, s.len);
      return {
        result: rcName(r.rc),
        ...(r.rc >= 0
          ? { n: r.rc, irqs: r.irqs.map((i) => ({ type: i.type, io_int_word: hex32(i.io_int_word) })) }
          : {}),
        consumed_ipm_iscs: iscsOf(r.consumedIpm),
      };
    }
    case 'clear':
      kvm_s390_clear_float_irqs(w, vm);
      return { result: 'ok' };
    case 'destroy':
      return { result: kvm_arch_destroy_vm(w, vm) };
    case 'destroy_spin':
      return { result: 'ok', done: destroySpin(w, vm) };
    case 'gisa_enable':
      if (!traits(w).modern) return invalid('gisa_enable exists since 5.18 (strategy current)');
      kvm_s390_gisa_enable(w, vm);
      return { result: 'ok' };
    case 'gisa_disable':
      if (!traits(w).modern) return invalid('gisa_disable exists since 5.18 (strategy current)');
      return { result: kvm_s390_gisa_disable(w, vm) };
    default:
      return invalid(`not a VM step: ${s.kind}`);
  }
}

/** Applies one step in place. Never throws for a step that is merely not applicable: that is "invalid". */
export function applyStep(w: S390World, s: S390Step): StepOutcome {
  switch (s.kind) {
    case 'gib_init':
      if (w.kvm_loaded) return invalid('kvm is already initialised');
      return { result: rcName(kvm_s390_gib_init(w, GAL_ISC, s.fault)) };
    case 'gib_destroy':
      kvm_s390_gib_destroy(w);
      return { result: 'ok' };
    case 'gal_irq':
      if (!w.gib) return invalid('no GIB');
      if (w.walk.phase !== WALK_IDLE) return invalid('process_gib_alert_list already running');
      gib_alert_irq_handler(w);
      return { result: 'ok' };
    case 'gal_step':
      if (w.walk.phase === WALK_IDLE) return invalid('process_gib_alert_list is not running');
      alertWalkStep(w, w.walk, 'gib_alert_irq_handler');
      return { result: 'ok' };
    default:
      break;
  }
  const vm = w.vms[s.vm];
  if (!vm) return invalid(`no VM ${s.vm}`);
  if ('vcpu' in s) {
    const v = vm.vcpus[s.vcpu];
    if (!v) return invalid(`no vCPU ${s.vcpu}`);
    return vcpuStep(w, vm, v, s);
  }
  return vmStep(w, vm, s);
}

/** What an explorer may enumerate beyond the always-on steps. */
export interface ExploreOptions {
  /** Let halted vCPUs re-check without a wake-up (spurious wake-ups, halt polling). */
  spuriousWakeups?: boolean;
  /** Let the guest of each running vCPU go idle (enabled wait). Default true. */
  guestWaits?: boolean;
  /** Let user space destroy each VM once (kvm_arch_destroy_vm), at any point. Default false. */
  destroys?: boolean;
}

/** Per-VM step ids: firmware_ai for ISC 0..7, then these. */
const VM_KICKER = 8;
const VM_DESTROY_SPIN = 9;
const VM_DESTROY = 10;
const VM_STEPS = 11;
/** Per-vCPU step ids, in this order. */
const VCPU_KINDS = ['sie_present', 'ckc_fire', 'enter_sie', 'leave_sie', 'wait', 'resume'] as const;
const V_SIE_PRESENT = 0;
const V_CKC = 1;
const V_ENTER = 2;
const V_LEAVE = 3;
const V_WAIT = 4;
const V_RESUME = 5;

/**
 * Integer ids for every step a scheduler may pick in a world of this shape (VMs and their vCPU counts):
 * 0 gal_irq, 1 gal_step, then per VM firmware_ai ISC 0..7, kicker_fire, destroy_spin, destroy, then per vCPU
 * the six vCPU steps. `table[id]` is the step object; `vmBase[m]` is VM m's first id.
 */
export interface StepLayout {
  readonly table: readonly S390Step[];
  readonly vmBase: Int32Array;
}

export function stepLayout(w: S390World): StepLayout {
  const table: S390Step[] = [{ kind: 'gal_irq' }, { kind: 'gal_step' }];
  const vmBase = new Int32Array(w.vms.length);
  for (const vm of w.vms) {
    const m = vm.index;
    vmBase[m] = table.length;
    for (let isc = 0; isc <= 7; isc++) table.push({ kind: 'firmware_ai', vm: m, isc });
    table.push({ kind: 'kicker_fire', vm: m }, { kind: 'destroy_spin', vm: m }, { kind: 'destroy', vm: m });
    for (const v of vm.vcpus) for (const kind of VCPU_KINDS) table.push({ kind, vm: m, vcpu: v.vcpu_idx });
  }
  return { table, vmBase };
}

/**
 * Writes the ids (per `layout`) of the steps enabled in this state into `out`, in id order, and returns how many.
 * This is the one definition of "enabled"; it allocates nothing. Firmware AIs are bounded by each VM's
 * ai_budget and limited to the registered ISCs (alert.mask), which keeps the reachable state space finite.
 */
export function enabledStepIds(
  w: S390World,
  layout: StepLayout,
  out: Int32Array,
  opts: ExploreOptions = {},
): number {
  let n = 0;
  if (w.gal_pending && w.walk.phase === WALK_IDLE && w.gib) out[n++] = 0;
  if (w.walk.phase !== WALK_IDLE) out[n++] = 1;
  const waits = opts.guestWaits !== false;
  for (const vm of w.vms) {
    const base = layout.vmBase[vm.index]!;
    if (vm.gi.origin && vm.ai_budget > 0)
      for (let isc = 0; isc <= 7; isc++) if (vm.gi.mask & (0x80 >> isc)) out[n++] = base + isc;
    if (vm.gi.timer_at >= 0) out[n++] = base + VM_KICKER;
    if (
      (vm.destroy === DESTROY_SPINNING && !gisa_in_alert_list(vm)) ||
      (vm.destroy === DESTROY_WALK_WAIT && w.walk.phase === WALK_IDLE)
    )
      out[n++] = base + VM_DESTROY_SPIN;
    if (opts.destroys && vm.online_vcpus > 0) out[n++] = base + VM_DESTROY;
    const vcpus = vm.vcpus;
    for (let c = 0; c < vcpus.length; c++) {
      const v = vcpus[c]!;
      const vb = base + VM_STEPS + c * VCPU_KINDS.length;
      if (sieDeliverable(vm, v)) out[n++] = vb + V_SIE_PRESENT;
      if (v.ckc_timer_at >= 0) out[n++] = vb + V_CKC;
      if (v.state === VCPU_HOST) out[n++] = vb + V_ENTER;
      if (v.state === VCPU_IN_SIE) {
        out[n++] = vb + V_LEAVE;
        if (waits) out[n++] = vb + V_WAIT;
      }
      if (v.state === VCPU_HALTED && (v.wakeup_pending || opts.spuriousWakeups)) out[n++] = vb + V_RESUME;
    }
  }
  return n;
}

/** The enabled steps as objects, in a fixed order (for scripts, tests and simple schedulers). */
export function enabledSteps(w: S390World, opts: ExploreOptions = {}): S390Step[] {
  const layout = stepLayout(w);
  const ids = new Int32Array(layout.table.length);
  const n = enabledStepIds(w, layout, ids, opts);
  const out: S390Step[] = [];
  for (let i = 0; i < n; i++) out.push(layout.table[ids[i]!]!);
  return out;
}

/** Fires one armed timer (the callback of its hrtimer), moving virtual time to its expiry. */
export function fireTimer(
  w: S390World,
  ref: { kind: 'kicker' | 'ckc'; vm: number; vcpu?: number },
): StepOutcome {
  return ref.kind === 'kicker'
    ? applyStep(w, { kind: 'kicker_fire', vm: ref.vm })
    : applyStep(w, { kind: 'ckc_fire', vm: ref.vm, vcpu: ref.vcpu ?? 0 });
}

/**
 * Lets `ns` of virtual time pass: fires every timer due by then in (expiry, seq) order, each at its own expiry.
 * Returns the fired timers' outcomes.
 */
export function advance(w: S390World, ns: number): Array<{ t: number; timer: string; outcome: StepOutcome }> {
  const target = w.now + ns;
  const fired: Array<{ t: number; timer: string; outcome: StepOutcome }> = [];
  for (let t = earliestTimer(w); t && t.at <= target; t = earliestTimer(w)) {
    w.now = t.at;
    const vm = w.vms[t.ref.vm]!;
    const name = t.ref.kind === 'kicker' ? `kicker:${vm.name}` : `ckc:${vm.name}/${t.ref.vcpu}`;
    fired.push({ t: t.at, timer: name, outcome: fireTimer(w, t.ref) });
  }
  w.now = target;
  return fired;
}

/**
 * What the hardware does at once after any host step: every vCPU in SIE takes the GISA interruptions it can
 * (H2), and a pre-6.6 destroy busy-wait notices that its GISA got unlinked. Returns the number of steps run.
 */
export function settle(w: S390World): number {
  let n = 0;
  for (const vm of w.vms) {
    for (const v of vm.vcpus)
      while (sieDeliverable(vm, v)) {
        sie_present(w, vm, v);
        n++;
      }
    if (destroySpin(w, vm)) n++;
  }
  return n;
}
