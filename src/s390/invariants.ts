// Properties an explorer checks on every state, each with a name a scenario can select:
// - list: the GIB alert list and the chain being walked contain every listed GISA exactly once, NONE is stored
//   only while a walk runs, a destroyed GISA is not listed;
// - lost_ai: an adapter interruption pending on a registered ISC, with an idle vCPU enabled for it, always has
//   something in the host that will kick a vCPU or alert: the GISA is listed (a GAL or a running walk will
//   unlink it), a vCPU able to take it is running or already woken, or the kicker is armed *and firing it
//   changes the state*. Without one of these nothing but a new AI can ever deliver it: either nothing is armed
//   (a stranded AI) or the kicker fires without kicking anybody (a kicker livelock: the F1/F2/F3 bugs end
//   here). New AIs from the environment are not counted as progress;
// - destroy: kvm_arch_destroy_vm returns by itself. The pre-6.6 kvm_s390_gisa_destroy busy-waits while its
//   GISA is listed and returns only when alert processing elsewhere unlinks it (case 27: with no other alert
//   activity it never returns); reaching that busy-wait is the violation;
// - no-walk-after-destroy: no alert-list walk reads or writes a GISA, or reads the `kvm` back-pointer from its
//   sie_page2, after kvm_arch_destroy_vm freed that page (spec §6 item 11). Since 6.6 (F5) destroy's own walk
//   cannot see a GISA another CPU's walk has already cut off; before 6.6 the busy-wait ends at the walker's
//   unlink store, one step before it reads sie_page2. The walk records such an access (VmState.walk_uaf).
//
// The checker is built once per world shape and reuses its scratch state: checking allocates nothing except
// on a violation (the message).
import { GISA_ADDR_MASK, NONE_GISA_ADDR } from '../abi/s390_gisa.ts';
import { type CodecOptions, cloneWorld, decodeInto, encodeInto, stateWords } from './codec.ts';
import { gisa_in_alert_list } from './gisa.ts';
import { applyStep, type S390Step } from './steps.ts';
import {
  DESTROY_DONE,
  DESTROY_SPINNING,
  type S390World,
  UAF_UNLINK,
  VCPU_GONE,
  VCPU_HALTED,
  type VmState,
  vmByGisa,
  WALK_IDLE,
  WALK_KICK,
  WALK_UNLINK,
} from './world.ts';

export const PROPERTIES = ['list', 'lost_ai', 'destroy', 'no-walk-after-destroy'] as const;
export type PropertyName = (typeof PROPERTIES)[number];

/** How a violation message of each property begins (`<prefix>: <detail>`). */
export const PROPERTY_PREFIX: Readonly<Record<PropertyName, string>> = {
  list: 'list',
  lost_ai: 'lost AI',
  destroy: 'destroy',
  'no-walk-after-destroy': 'no-walk-after-destroy',
};

/**
 * A violation message (or a prefix of one, as a scenario's `expect:` gives it) as the property and the detail
 * after "<prefix>: ". Null when it names no property.
 */
export function splitViolation(message: string): { property: PropertyName; detail: string } | null {
  for (const p of PROPERTIES) {
    const prefix = PROPERTY_PREFIX[p];
    if (message === prefix || message === `${prefix}:`) return { property: p, detail: '' };
    if (message.startsWith(`${prefix}: `)) return { property: p, detail: message.slice(prefix.length + 2) };
  }
  return null;
}

const ON_LIST = 1;
const ON_WALK = 2;

/** Checks the selected properties of worlds shaped like `template`. */
export class S390Checker {
  private readonly marks: Uint8Array;
  private readonly scratch: S390World;
  private readonly before: Int32Array;
  private readonly after: Int32Array;
  private readonly kickers: S390Step[];
  private readonly codec: CodecOptions;
  readonly properties: ReadonlySet<PropertyName>;

  constructor(
    template: S390World,
    properties: Iterable<PropertyName> = PROPERTIES,
    codec: CodecOptions = {},
  ) {
    this.properties = new Set(properties);
    this.codec = { classicCap: 64, ...codec, time: 'armed' };
    this.marks = new Uint8Array(template.vms.length);
    this.scratch = cloneWorld(template);
    this.scratch.tracing = false;
    const words = stateWords(template, this.codec);
    this.before = new Int32Array(words);
    this.after = new Int32Array(words);
    this.kickers = template.vms.map((vm) => ({ kind: 'kicker_fire', vm: vm.index }));
  }

  /** The first violated property as "<name>: <what>", or null. */
  check(w: S390World): string | null {
    const p = this.properties;
    if (p.has('list')) {
      const bad = this.listViolation(w);
      if (bad !== null) return `list: ${bad}`;
    }
    if (p.has('destroy')) {
      for (const vm of w.vms)
        if (vm.destroy === DESTROY_SPINNING)
          return `destroy: kvm_s390_gisa_destroy of ${vm.name} busy-waits on a listed GISA`;
    }
    if (p.has('no-walk-after-destroy')) {
      for (const vm of w.vms)
        if (vm.walk_uaf !== 0)
          return vm.walk_uaf & UAF_UNLINK
            ? `no-walk-after-destroy: the alert-list walk read and wrote next_alert of ${vm.name}'s GISA after kvm_arch_destroy_vm freed its sie_page2`
            : `no-walk-after-destroy: the alert-list walk read ->kvm from ${vm.name}'s freed sie_page2 and started its kicker`;
    }
    if (p.has('lost_ai')) {
      for (const vm of w.vms) {
        const bad = this.lostAi(w, vm);
        if (bad !== null) return `lost AI: ${bad}`;
      }
    }
    return null;
  }

  /** Marks the GISAs on a chain from `origin`; returns an error phrase, or null. */
  private mark(w: S390World, origin: number, mark: number): string | null {
    const marks = this.marks;
    for (let at = origin; at & GISA_ADDR_MASK; ) {
      const vm = vmByGisa(w, at);
      if (vm === undefined || !gisa_in_alert_list(vm)) return 'alert list is not a well-formed chain';
      const m = marks[vm.index]!;
      if (m === mark) return 'alert list is not a well-formed chain';
      if (m !== 0) return 'GISA on two alert lists';
      marks[vm.index] = mark;
      at = vm.gisa.next_alert;
    }
    return null;
  }

  private listViolation(w: S390World): string | null {
    if (!w.gib) {
      for (const vm of w.vms) if (vm.gi.origin && gisa_in_alert_list(vm)) return 'listed GISA without GIB';
      return null;
    }
    this.marks.fill(0);
    const bad =
      this.mark(w, w.gib.alert_list_origin, ON_LIST) ??
      (w.walk.phase === WALK_UNLINK || w.walk.phase === WALK_KICK
        ? this.mark(w, w.walk.origin, ON_WALK)
        : null);
    if (bad !== null) return bad;
    for (const vm of w.vms) {
      const inAList = this.marks[vm.index] !== 0;
      const listed = gisa_in_alert_list(vm);
      if (vm.gi.origin && listed !== inAList) return `GISA of ${vm.name} linked but not reachable`;
      if (vm.destroy === DESTROY_DONE && listed) return `destroyed GISA of ${vm.name} still listed`;
    }
    if (w.gib.alert_list_origin === NONE_GISA_ADDR && w.walk.phase === WALK_IDLE)
      return 'NONE stored with no walk';
    return null;
  }

  /**
   * Only a VM whose vCPUs all sleep with nothing in flight (no wake-up pending, no timer of their own) is
   * judged: while any of its vCPUs still moves, that vCPU's own steps can change what the kicker does (a woken
   * vCPU re-entering SIE clears its kicked_mask and idle bits), so a kicker that kicks nobody *now* proves
   * nothing. Every quiescent state is reachable by the explorer anyway, so no lost AI is missed.
   */
  private lostAi(w: S390World, vm: VmState): string | null {
    if (!vm.gi.origin) return null;
    const pending = vm.gisa.ipm & vm.gi.mask;
    if (pending === 0) return null;
    let takers = 0;
    let idle = -1;
    for (const v of vm.vcpus) {
      if (v.state === VCPU_GONE) continue;
      if (v.state !== VCPU_HALTED || v.wakeup_pending || v.ckc_timer_at >= 0) return null;
      if (v.psw_io && (v.cr6 & pending) !== 0) {
        takers |= v.cr6 & pending;
        if (idle < 0) idle = v.vcpu_idx;
      }
    }
    if (idle < 0) return null;
    // The walk has just unlinked this GISA and is about to start its kicker (the KICK micro-step).
    if (w.walk.phase === WALK_KICK && w.walk.cur === vm.gisa_addr) return null;
    let isc = 0;
    while (!(takers & (0x80 >> isc))) isc++;
    if (gisa_in_alert_list(vm)) {
      if (w.gal_pending || w.walk.phase !== WALK_IDLE) return null;
      return `${vm.name}: ISC ${isc} pending, GISA listed but no GAL pending and no walk running`;
    }
    if (vm.gi.timer_at < 0)
      return `stranded interruption: ISC ${isc} pending in ${vm.name}, ${vm.name}/${idle} idle and enabled, nothing armed to kick it`;
    if (this.kickerChangesState(w, vm)) return null;
    return `kicker livelock: ISC ${isc} pending in ${vm.name}, ${vm.name}/${idle} idle and enabled, the kicker wakes nobody`;
  }

  /** Fires the VM's kicker on a scratch copy and compares encodings (timers as "armed"). */
  private kickerChangesState(w: S390World, vm: VmState): boolean {
    const s = this.scratch;
    encodeInto(w, this.before, this.codec);
    decodeInto(this.before, 0, s, this.codec);
    s.now = w.now;
    applyStep(s, this.kickers[vm.index]!);
    encodeInto(s, this.after, this.codec);
    const a = this.before;
    const b = this.after;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
    return false;
  }
}
