// The GISA word[0] (next_alert | IPM | IAM) and the host operations on it: O2 init, O3 gisa_set_iam,
// O4 clear, O5 gisa_get_ipm_or_restore_iam, and the IPM bit helpers. In the kernel every write is a cmpxchg
// loop on word[0] because millicode updates the same word; in the model each call is one atomic step, which is
// exactly what a successful cmpxchg iteration is.
import { MAX_ISC, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { EBUSY } from './errno.ts';
import { hex8, hex32, iscBit } from './isc.ts';
import { cancelKicker } from './timers.ts';
import { emit, type S390World, type VmState } from './world.ts';

/** next_alert equals the GISA's own address ⇔ the GISA is not in an alert list. */
export const gisa_in_alert_list = (vm: VmState): boolean => vm.gisa.next_alert !== vm.gisa_addr;

/**
 * O3: write the IAM unless the GISA is listed. While listed the IAM stays 0 and the write is refused, so the
 * new value only takes effect at the next gisa_get_ipm_or_restore_iam (§6.2).
 */
export function gisa_set_iam(w: S390World, vm: VmState, iam: number, via: string): number {
  if (gisa_in_alert_list(vm)) {
    if (w.tracing) emit(w, { event: 'gisa_set_iam', vm: vm.name, iam: hex8(iam), rc: '-EBUSY', via });
    return -EBUSY;
  }
  vm.gisa.iam = iam & 0xff;
  if (w.tracing) emit(w, { event: 'gisa_set_iam', vm: vm.name, iam: hex8(iam), rc: 'ok', via });
  return 0;
}

/** O4 helper: clear the IPM, leaving next_alert and the IAM alone, listed or not. */
export function gisa_clear_ipm(vm: VmState): void {
  vm.gisa.ipm = 0;
}

/**
 * O5: the registered ISCs pending in the IPM, or — when none is — atomically re-arm the IAM with alert.mask
 * and return 0. Atomicity with the IPM check is what avoids lost wake-ups: an AI arriving after the restore
 * finds the IAM set and alerts (§6.7). It does not look at list membership (case 5).
 */
export function gisa_get_ipm_or_restore_iam(w: S390World, vm: VmState, via: string): number {
  const pending = vm.gisa.ipm & vm.gi.mask;
  if (pending) return pending;
  vm.gisa.iam = vm.gi.mask;
  vm.stat.iam_restores++;
  if (w.tracing) emit(w, { event: 'iam_restored', vm: vm.name, iam: hex8(vm.gi.mask), via });
  return 0;
}

/** gisa_set_ipm_gisc: software makes an AI pending; millicode is not involved, so it never alerts. */
export function gisa_set_ipm_gisc(vm: VmState, gisc: number): void {
  vm.gisa.ipm |= iscBit(gisc);
}

export const gisa_get_ipm = (vm: VmState): number => vm.gisa.ipm;

/** gisa_tac_ipm_gisc: test and clear one IPM bit. */
export function gisa_tac_ipm_gisc(vm: VmState, gisc: number): boolean {
  const bit = iscBit(gisc);
  const was = (vm.gisa.ipm & bit) !== 0;
  vm.gisa.ipm &= ~bit & 0xff;
  return was;
}

/**
 * O2 kvm_s390_gisa_init: without AIV the VM runs without a GISA (origin stays NULL). ref_count[] is not reset,
 * as in the kernel, which relies on the zeroed struct kvm.
 */
export function kvm_s390_gisa_init(w: S390World, vm: VmState): void {
  if (!w.cfg.aiv) return;
  vm.gi.origin = vm.gisa_addr;
  vm.gi.mask = 0;
  vm.gi.expires = w.cfg.expires_ns;
  cancelKicker(vm);
  vm.gisa = { next_alert: vm.gisa_addr, ipm: 0, iam: 0 };
  if (w.tracing) emit(w, { event: 'gisa_init', vm: vm.name, origin: hex32(vm.gisa_addr) });
}

/** kvm_s390_get_gisa_desc: the SIE gd value (format bit not modelled), 0 without a GISA. */
export const kvm_s390_get_gisa_desc = (vm: VmState): number => vm.gi.origin;

/** O4 kvm_s390_gisa_clear (FLIC CLEAR_IRQS): IPM only. */
export function kvm_s390_gisa_clear(w: S390World, vm: VmState): void {
  if (vm.gi.origin === NULL_GISA_ADDR) return;
  gisa_clear_ipm(vm);
  if (w.tracing) emit(w, { event: 'gisa_clear', vm: vm.name });
}

export const validGisc = (gisc: number): boolean => Number.isInteger(gisc) && gisc >= 0 && gisc <= MAX_ISC;
