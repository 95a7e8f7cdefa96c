// Properties an explorer checks on every state. Structural: the GIB alert list and the chain being walked
// contain every listed GISA exactly once, NONE is stored only while a walk runs, a destroyed GISA is not
// listed. Progress: no adapter interruption is left pending that some vCPU could take while nothing in the
// host can ever wake one — either nothing can move at all (a stranded AI), or only the kicker keeps firing
// without changing anything (a kicker livelock: the F1/F2/F3 bugs end here).
import { GISA_ADDR_MASK, NONE_GISA_ADDR } from '../abi/s390_gisa.ts';
import { encodeState } from './codec.ts';
import { gisa_in_alert_list } from './gisa.ts';
import { applyStep, enabledSteps } from './steps.ts';
import {
  DESTROY_DONE,
  type S390World,
  VCPU_GONE,
  VCPU_HALTED,
  type VmState,
  vmByGisa,
  WALK_IDLE,
  WALK_UNLINK,
} from './world.ts';

/** Follows next_alert links from `origin`; returns the GISAs visited, or null on a cycle or a bad entry. */
function chain(w: S390World, origin: number): VmState[] | null {
  const out: VmState[] = [];
  for (let at = origin; at & GISA_ADDR_MASK; ) {
    const vm = vmByGisa(w, at);
    if (!vm || out.includes(vm) || !gisa_in_alert_list(vm)) return null;
    out.push(vm);
    at = vm.gisa.next_alert;
  }
  return out;
}

/** The first violated structural invariant, or null. */
export function structuralViolation(w: S390World): string | null {
  if (!w.gib)
    return w.vms.some((vm) => vm.gi.origin && gisa_in_alert_list(vm)) ? 'listed GISA without GIB' : null;
  const listed = chain(w, w.gib.alert_list_origin);
  const walking = w.walk.phase === WALK_UNLINK ? chain(w, w.walk.origin) : [];
  if (!listed || !walking) return 'alert list is not a well-formed chain';
  const onLists = [...listed, ...walking];
  if (new Set(onLists).size !== onLists.length) return 'GISA on two alert lists';
  for (const vm of w.vms) {
    const inAList = onLists.includes(vm);
    if (vm.gi.origin && gisa_in_alert_list(vm) !== inAList)
      return `GISA of ${vm.name} linked but not reachable`;
    if (vm.destroy === DESTROY_DONE && gisa_in_alert_list(vm))
      return `destroyed GISA of ${vm.name} still listed`;
  }
  if (w.gib.alert_list_origin === NONE_GISA_ADDR && w.walk.phase === WALK_IDLE)
    return 'NONE stored with no walk';
  return null;
}

/** A vCPU of the VM that could take a pending I/O interruption if it were running. */
function wouldTake(vm: VmState): string | null {
  const pending = vm.fi.pending | (vm.gi.origin ? vm.gisa.ipm : 0);
  const v = vm.vcpus.find((c) => c.state !== VCPU_GONE && c.psw_io && (pending & c.cr6) !== 0);
  return v ? `${vm.name}/${v.vcpu_idx}` : null;
}

const allAsleep = (w: S390World): boolean =>
  w.vms.every((vm) =>
    vm.vcpus.every((v) => v.state === VCPU_GONE || (v.state === VCPU_HALTED && !v.wakeup_pending)),
  );

/**
 * Progress check for a state where every vCPU sleeps without a wake-up in flight and no alert processing is
 * pending: if some sleeping vCPU could take a pending interruption, the host must still be able to wake one.
 * That fails when no timer is armed (stranded) or when firing each armed kicker leaves the state as it is
 * (livelock). Environment steps (new firmware AIs) are not counted as progress.
 */
export function progressViolation(w: S390World): string | null {
  if (!allAsleep(w) || w.gal_pending || w.walk.phase !== WALK_IDLE) return null;
  const taker = w.vms.map(wouldTake).find((t) => t !== null);
  if (!taker) return null;
  if (w.vms.some((vm) => vm.vcpus.some((v) => v.ckc_timer_at >= 0))) return null;
  const kickers = enabledSteps(w).filter((s) => s.kind === 'kicker_fire');
  if (kickers.length === 0) return `stranded interruption: ${taker} could take it, nothing will wake it`;
  const before = encodeState(w, { classicCap: 64 });
  for (const k of kickers) {
    const copy: S390World = structuredClone({ ...w, events: [] });
    applyStep(copy, k);
    const after = encodeState(copy, { classicCap: 64 });
    if (after.some((x, i) => x !== before[i])) return null;
  }
  return `kicker livelock: ${taker} could take a pending interruption, the kicker wakes nobody`;
}
