// O14 kvm_s390_gisa_destroy in both forms, and the F6 gisa_enable/disable pair used for protected guests.
// Pre-6.6 destroy spins while the GISA is listed and relies on *another* VM's alert to unlink it: with no
// other alert activity it never returns (RCU stall, case 27). ≥6.6 (F5) zeroes alert.mask, and if the IAM
// cannot be written because the GISA is listed it processes the alert list itself (case 28).
// Neither form waits for another CPU's walk that has already cut this GISA off the list (spec §6 item 11):
// the caller, kvm_arch_destroy_vm, then frees sie_page2 under that walk. `destroy_waits_for_walks` is the
// what-if where destroy does wait (WALK_WAIT) before cancelling the kicker.
import { NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { process_gib_alert_list } from './alert_list.ts';
import { gisa_in_alert_list, gisa_set_iam, kvm_s390_get_gisa_desc, kvm_s390_gisa_init } from './gisa.ts';
import { hex8 } from './isc.ts';
import { cancelKicker } from './timers.ts';
import {
  DESTROY_DONE,
  DESTROY_SPINNING,
  DESTROY_WALK_WAIT,
  emit,
  type S390World,
  type VmState,
  WALK_IDLE,
} from './world.ts';

/** The what-if wait: another CPU's walk is in flight and destroy was told to wait for it. */
function mustWaitForWalks(w: S390World): boolean {
  return w.cfg.destroy_waits_for_walks && w.walk.phase !== WALK_IDLE;
}

/** hrtimer_cancel, origin := NULL, return — or, in the what-if, first wait for in-flight walks. */
function finishOrWait(w: S390World, vm: VmState): 'ok' | 'stall' {
  if (mustWaitForWalks(w)) {
    vm.destroy = DESTROY_WALK_WAIT;
    if (w.tracing) emit(w, { event: 'destroy_waits_for_walks', vm: vm.name });
    return 'stall';
  }
  finishDestroy(w, vm);
  return 'ok';
}

function finishDestroy(w: S390World, vm: VmState): void {
  cancelKicker(vm);
  vm.gi.origin = NULL_GISA_ADDR;
  vm.destroy = DESTROY_DONE;
  if (w.tracing) emit(w, { event: 'gisa_destroyed', vm: vm.name });
}

/** Returns 'stall' when the pre-6.6 busy-wait does not finish; the VM then stays in DESTROY_SPINNING. */
export function kvm_s390_gisa_destroy(w: S390World, vm: VmState): 'ok' | 'stall' {
  if (vm.gi.origin === NULL_GISA_ADDR) return 'ok';
  if (w.cfg.fixes.F5) {
    if (vm.gi.mask && w.tracing)
      emit(w, { event: 'WARN', msg: `unexpected non zero alert.mask ${hex8(vm.gi.mask)}` });
    vm.gi.mask = 0;
    if (gisa_set_iam(w, vm, vm.gi.mask, 'kvm_s390_gisa_destroy'))
      process_gib_alert_list(w, 'kvm_s390_gisa_destroy');
    return finishOrWait(w, vm);
  }
  if (vm.gi.mask && w.tracing)
    emit(w, { event: 'log', msg: `vm ${vm.name} has unexpected iam ${hex8(vm.gi.mask)}` });
  if (gisa_in_alert_list(vm)) {
    vm.destroy = DESTROY_SPINNING;
    if (w.tracing) emit(w, { event: 'destroy_busy_wait', vm: vm.name });
    return 'stall';
  }
  return finishOrWait(w, vm);
}

/**
 * One more iteration of the pre-6.6 `while (gisa_in_alert_list()) cpu_relax();` (or of the what-if wait for
 * in-flight walks). True when destroy returned.
 */
export function destroySpin(w: S390World, vm: VmState): boolean {
  if (vm.destroy === DESTROY_SPINNING) {
    if (gisa_in_alert_list(vm)) return false;
    return finishOrWait(w, vm) === 'ok';
  }
  if (vm.destroy === DESTROY_WALK_WAIT && !mustWaitForWalks(w)) {
    finishDestroy(w, vm);
    return true;
  }
  return false;
}

/** kvm_s390_gisa_disable (F6): clear gd and ECA_AIV on every vCPU, then destroy the GISA. */
export function kvm_s390_gisa_disable(w: S390World, vm: VmState): 'ok' | 'stall' {
  if (vm.gi.origin === NULL_GISA_ADDR) return 'ok';
  for (const v of vm.vcpus) {
    v.eca_aiv = false;
    v.gd = 0;
  }
  return kvm_s390_gisa_destroy(w, vm);
}

/** kvm_s390_gisa_enable (F6): init the GISA again and give every vCPU its designation and ECA_AIV. */
export function kvm_s390_gisa_enable(w: S390World, vm: VmState): void {
  if (vm.gi.origin !== NULL_GISA_ADDR) return;
  kvm_s390_gisa_init(w, vm);
  vm.destroy = 0;
  const desc = kvm_s390_get_gisa_desc(vm);
  if (!desc) return;
  for (const v of vm.vcpus) {
    v.gd = desc;
    v.eca_aiv = true;
  }
}
