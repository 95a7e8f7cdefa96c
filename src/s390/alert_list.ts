// O10/O11: the host side of a GIB alert. process_gib_alert_list cuts the list off by exchanging the origin
// with NONE_GISA_ADDR (so millicode links new GISAs without raising another GAL), unlinks every cut-off GISA,
// and repeats until an exchange returns NONE — the final exchange stores NULL, re-enabling GAL interruptions.
// A single alerted GISA costs three exchanges. The function is split into micro-steps so millicode, other CPUs'
// walks and a VM destroy can run in between, as on real hardware: one xchg; the unlink of one GISA (read its
// next_alert, store its own address); then container_of(gisa, struct sie_page2, gisa)->kvm and the kicker's
// hrtimer_cancel/hrtimer_start for it. The last two are separate steps because they are separate accesses in
// the kernel (O11 step c; arch/s390/kvm/interrupt.c at 002c6ca75289 and, unchanged, 2519003dd5fb): the pre-6.6
// destroy busy-wait ends at the unlink store, before the walker reaches sie_page2. `alert_walk: single_xchg`
// swaps in v1/v2's walk (one exchange with NULL) for the v3 claim's ablation.
import { GISA_ADDR_MASK, NONE_GISA_ADDR, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { __find_vcpu_for_floating_irq } from './float_irq.ts';
import { kvm_s390_vcpu_wakeup } from './idle.ts';
import { hex32 } from './isc.ts';
import { kickCover } from './kicker.ts';
import { cancelKicker, kickerActive, startKicker } from './timers.ts';
import {
  type AlertWalk,
  DESTROY_DONE,
  emit,
  type S390World,
  traits,
  UAF_KICK,
  UAF_UNLINK,
  type VmState,
  vmByGisa,
  WALK_IDLE,
  WALK_KICK,
  WALK_UNLINK,
  WALK_XCHG,
} from './world.ts';

/** "NULL", "NONE" or the GISA address, as transcripts print an alert-list origin. */
export const originName = (w: S390World, origin: number): string => {
  if (origin === NULL_GISA_ADDR) return 'NULL';
  if (origin === NONE_GISA_ADDR) return 'NONE';
  const vm = vmByGisa(w, origin);
  return vm ? `${hex32(origin)}(${vm.name})` : hex32(origin);
};

/**
 * What the host does for a GISA it just unlinked, per strategy: v6+ (re)start the VM's kicker at 0 delay;
 * v5 kick a covering set of idle vCPUs; v3/v4 kick one vCPU the way __floating_irq_kick would (reconstructed
 * from the cover letters: "factors out __find_vcpu_for_floating_irq()").
 */
function afterUnlink(w: S390World, vm: VmState): void {
  switch (traits(w).alertAction) {
    case 'kicker_timer':
      if (kickerActive(vm)) cancelKicker(vm);
      startKicker(w, vm, 0);
      if (w.tracing) emit(w, { event: 'kicker_started', vm: vm.name, delay_ns: 0 });
      return;
    case 'kick_cover':
      kickCover(w, vm);
      return;
    case 'kick_one': {
      const v = __find_vcpu_for_floating_irq(w, vm);
      if (v) {
        vm.stat.kicks++;
        kvm_s390_vcpu_wakeup(w, vm, v, '__find_vcpu_for_floating_irq');
      }
      return;
    }
  }
}

/** Starts a walk: the first xchg comes next. */
export function beginWalk(walk: AlertWalk): void {
  walk.phase = WALK_XCHG;
  walk.origin = 0;
  walk.cur = 0;
  walk.final = false;
  walk.xchgs = 0;
}

/** One micro-step of process_gib_alert_list. `by` names the caller in events. */
export function alertWalkStep(w: S390World, walk: AlertWalk, by: string): void {
  const gib = w.gib;
  if (!gib || walk.phase === WALK_IDLE) return;
  if (walk.phase === WALK_XCHG) {
    // single_xchg (v1/v2) makes its one exchange the final one: store NULL at once.
    walk.final = w.cfg.alert_walk === 'single_xchg' || (walk.origin & NONE_GISA_ADDR) !== 0;
    const stored = walk.final ? NULL_GISA_ADDR : NONE_GISA_ADDR;
    const returned = gib.alert_list_origin;
    gib.alert_list_origin = stored;
    walk.origin = returned;
    walk.xchgs++;
    w.stat.xchg++;
    if (w.tracing)
      emit(w, {
        event: 'xchg',
        n: walk.xchgs,
        stored: stored === NULL_GISA_ADDR ? 'NULL' : 'NONE',
        returned: originName(w, returned),
        by,
      });
  } else if (walk.phase === WALK_UNLINK) {
    const addr = walk.origin;
    const vm = vmByGisa(w, addr);
    // A list entry is always a GISA of a VM the model created; a miss would be a model bug.
    if (!vm) throw new Error(`alert list entry ${hex32(addr)} is not a GISA`);
    // The GISA lives in sie_page2: after kvm_arch_destroy_vm freed it, these are a read and a write of freed
    // memory. The model records that and goes on with the page's old contents (memory not yet reused).
    if (sie_page2_freed(vm)) walkAfterFree(w, vm, UAF_UNLINK, by);
    walk.origin = vm.gisa.next_alert;
    vm.gisa.next_alert = vm.gisa_addr;
    vm.stat.unlinks++;
    walk.cur = addr;
    if (w.tracing) emit(w, { event: 'unlink', vm: vm.name, by });
  } else {
    const vm = vmByGisa(w, walk.cur);
    if (!vm) throw new Error(`unlinked entry ${hex32(walk.cur)} is not a GISA`);
    walk.cur = 0;
    // container_of(gisa, struct sie_page2, gisa)->kvm reads the back-pointer from sie_page2.
    if (sie_page2_freed(vm)) walkAfterFree(w, vm, UAF_KICK, by);
    afterUnlink(w, vm);
  }
  // Where the do { xchg; while (origin & GISA_ADDR_MASK) { unlink; kick; } } while (!final) loop goes next.
  if (walk.cur !== 0) walk.phase = WALK_KICK;
  else if (walk.origin & GISA_ADDR_MASK) walk.phase = WALK_UNLINK;
  else walk.phase = walk.final ? WALK_IDLE : WALK_XCHG;
}

/** kvm_arch_destroy_vm freed this VM's sie_page2 (its kvm_s390_gisa_destroy returned). */
export const sie_page2_freed = (vm: VmState): boolean => vm.arch_destroyed && vm.destroy === DESTROY_DONE;

function walkAfterFree(w: S390World, vm: VmState, what: number, by: string): void {
  vm.walk_uaf |= what;
  if (w.tracing)
    emit(w, {
      event: 'use_after_free',
      vm: vm.name,
      access: what === UAF_UNLINK ? 'gisa->next_alert' : 'container_of(gisa, struct sie_page2, gisa)->kvm',
      by,
    });
}

/** process_gib_alert_list run to completion by a caller that owns the CPU (kvm_s390_gisa_destroy ≥6.6). */
export function process_gib_alert_list(w: S390World, by: string): number {
  const walk: AlertWalk = { phase: WALK_IDLE, origin: 0, cur: 0, final: false, xchgs: 0 };
  w.stat.walks++;
  beginWalk(walk);
  while (walk.phase !== WALK_IDLE) alertWalkStep(w, walk, by);
  return walk.xchgs;
}

/**
 * gib_alert_irq_handler: the host takes the GAL interruption (count IRQIO_GAL) and starts the interrupt-context
 * walk. The model runs one such walk at a time. The ≥6.0 zPCI AEN forwarding branch is not modelled.
 */
export function gib_alert_irq_handler(w: S390World): void {
  w.gal_pending = false;
  w.stat.IRQIO_GAL++;
  w.stat.walks++;
  beginWalk(w.walk);
  if (w.tracing) emit(w, { event: 'gib_alert_irq_handler' });
}
