// O6: kvm_s390_gisc_register / kvm_s390_gisc_unregister, called by device drivers (vfio-ap, zPCI) to make a
// guest ISC alert-worthy. A refcount per ISC; alert.mask (software) changes on the 0↔1 transitions and the IAM
// (hardware) follows only if the GISA is not listed — otherwise at the next IAM restore (§6.2).
import { GAL_ISC, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { EINVAL, ENODEV, ERANGE } from './errno.ts';
import { gisa_set_iam, validGisc } from './gisa.ts';
import { hex8, iscBit } from './isc.ts';
import { emit, type S390World, type VmState } from './world.ts';

/** Returns the NISC (GAL_ISC) the GIB alert uses, -ENODEV without GISA, -ERANGE for gisc > 7. */
export function kvm_s390_gisc_register(w: S390World, vm: VmState, gisc: number): number {
  if (vm.gi.origin === NULL_GISA_ADDR) return -ENODEV;
  if (!validGisc(gisc)) return -ERANGE;
  vm.gi.ref_count[gisc]!++;
  if (vm.gi.ref_count[gisc] === 1) {
    vm.gi.mask |= iscBit(gisc);
    if (w.tracing) emit(w, { event: 'alert_mask', vm: vm.name, mask: hex8(vm.gi.mask) });
    gisa_set_iam(w, vm, vm.gi.mask, 'kvm_s390_gisc_register');
  }
  return w.gib?.nisc ?? GAL_ISC;
}

/** Returns 0 (the kernel-doc's claim that the NISC is returned is wrong), or -ENODEV/-ERANGE/-EINVAL. */
export function kvm_s390_gisc_unregister(w: S390World, vm: VmState, gisc: number): number {
  if (vm.gi.origin === NULL_GISA_ADDR) return -ENODEV;
  if (!validGisc(gisc)) return -ERANGE;
  if (vm.gi.ref_count[gisc] === 0) return -EINVAL;
  vm.gi.ref_count[gisc]!--;
  if (vm.gi.ref_count[gisc] === 0) {
    vm.gi.mask &= ~iscBit(gisc) & 0xff;
    if (w.tracing) emit(w, { event: 'alert_mask', vm: vm.name, mask: hex8(vm.gi.mask) });
    gisa_set_iam(w, vm, vm.gi.mask, 'kvm_s390_gisc_unregister');
  }
  return 0;
}
