// O12/O13: the per-VM kicker (v6 and later). After a GIB alert the host does not pick a vCPU itself; it starts
// an hrtimer that, every 50 µs while registered ISCs stay pending, wakes at most one idle vCPU able to take
// them, and re-arms the IAM (and stops) once the IPM is clean. v5 instead kicked, once, a minimal set of idle
// vCPUs covering every pending ISC — reconstructed here from the cover letter only (spec §9.5).
import { gisa_get_ipm_or_restore_iam } from './gisa.ts';
import { kvm_s390_vcpu_wakeup } from './idle.ts';
import { hex8 } from './isc.ts';
import { forwardKicker } from './timers.ts';
import { emit, type S390World, type VmState, vcpuName } from './world.ts';

/**
 * __airqs_kick_single_vcpu(kvm, deliverable_mask). Walks idle_mask bits below online_vcpus in ascending order
 * (a bit number is used as a vcpu_idx, which is what F1 is about). Skips vCPUs with I/O disabled in the PSW
 * or none of the deliverable ISCs in CR6. The first match is kicked unless its kicked_mask bit was already set
 * — then nobody is: a kick is in flight. Pre-F3 each candidate's CR6 mask is ANDed *into* deliverable_mask, so
 * a non-matching idle vCPU clobbers the mask for everyone after it.
 */
export function __airqs_kick_single_vcpu(w: S390World, vm: VmState, deliverable_mask: number): void {
  for (let idx = 0; idx < vm.online_vcpus; idx++) {
    if (!(vm.idle_mask & (1 << idx))) continue;
    const vcpu = vm.vcpus[idx]!;
    if (!vcpu.psw_io) continue;
    let hit: number;
    if (w.cfg.fixes.F3) hit = deliverable_mask & vcpu.cr6;
    else {
      deliverable_mask &= vcpu.cr6;
      hit = deliverable_mask;
    }
    if (!hit) continue;
    const bit = 1 << idx;
    if (vm.gi.kicked_mask & bit) {
      if (w.tracing) emit(w, { event: 'kick_in_flight', vm: vm.name, vcpu: vcpuName(vm, vcpu) });
      return;
    }
    vm.gi.kicked_mask |= bit;
    vm.stat.kicks++;
    kvm_s390_vcpu_wakeup(w, vm, vcpu, '__airqs_kick_single_vcpu');
    return;
  }
  if (w.tracing)
    emit(w, { event: 'kick_no_candidate', vm: vm.name, deliverable_mask: hex8(deliverable_mask) });
}

/**
 * gisa_vcpu_kicker (hrtimer callback). Pending registered ISCs → kick one vCPU, forward the timer by
 * gi->expires from now, RESTART. None → gisa_get_ipm_or_restore_iam has atomically re-armed the IAM: NORESTART.
 */
export function gisa_vcpu_kicker(w: S390World, vm: VmState): 'RESTART' | 'NORESTART' {
  const firedAt = vm.gi.timer_at;
  vm.gi.timer_at = -1;
  vm.stat.kicker_calls++;
  const pending = gisa_get_ipm_or_restore_iam(w, vm, 'gisa_vcpu_kicker');
  if (w.tracing)
    emit(w, { event: 'kicker', vm: vm.name, pending: hex8(pending), ret: pending ? 'RESTART' : 'NORESTART' });
  if (!pending) return 'NORESTART';
  __airqs_kick_single_vcpu(w, vm, pending);
  forwardKicker(w, vm, vm.gi.expires, firedAt);
  vm.stat.kicker_restarts++;
  return 'RESTART';
}

/**
 * v5: kick a minimal set of idle vCPUs that together can take every pending ISC — greedily, in idle_mask
 * order, taking a vCPU when it covers an ISC not yet covered. With nothing pending the IAM is re-armed.
 */
export function kickCover(w: S390World, vm: VmState): void {
  let remaining = gisa_get_ipm_or_restore_iam(w, vm, 'process_gib_alert_list');
  for (let idx = 0; idx < vm.online_vcpus; idx++) {
    if (!remaining) break;
    if (!(vm.idle_mask & (1 << idx))) continue;
    const vcpu = vm.vcpus[idx]!;
    if (!vcpu.psw_io || !(remaining & vcpu.cr6)) continue;
    remaining &= ~vcpu.cr6 & 0xff;
    vm.stat.kicks++;
    kvm_s390_vcpu_wakeup(w, vm, vcpu, 'kick_cover');
  }
  if (remaining && w.tracing) emit(w, { event: 'kick_uncovered', vm: vm.name, iscs: hex8(remaining) });
}
