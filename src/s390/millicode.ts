// The hardware/millicode side (spec §4, inferred from code comments and cover letters, not from a hardware
// spec). H1: firmware makes an AI pending by setting its IPM bit. H2: a vCPU running in SIE with I/O and the
// ISC enabled takes it directly. H3: otherwise, if the IAM has the ISC, millicode clears the IAM, links the
// GISA at the head of the GIB alert list and raises the GAL interruption only if the list origin was NULL.
// H4: a listed GISA is never linked again.
import { NONE_GISA_ADDR, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { gisa_in_alert_list } from './gisa.ts';
import { hex8, hex32, isc_to_int_word, iscBit, topIsc } from './isc.ts';
import { emit, type S390World, VCPU_IN_SIE, type VcpuState, type VmState, vcpuName } from './world.ts';

/** The SIE of this vCPU interprets GISA interruptions (gd set and ECA_AIV) and the vCPU is in SIE. */
const sieUsesGisa = (v: VcpuState): boolean => v.state === VCPU_IN_SIE && v.gd !== 0 && v.eca_aiv;

/** ISCs of the IPM this vCPU could take directly in SIE right now (H2 precondition). */
export const sieDeliverable = (vm: VmState, v: VcpuState): number =>
  sieUsesGisa(v) && v.psw_io ? vm.gisa.ipm & v.cr6 : 0;

/** A vCPU of the VM that can take ISC `isc` directly (spec §9.2: the model reads H3's "otherwise" as this). */
function presenter(vm: VmState, isc: number): VcpuState | undefined {
  const bit = iscBit(isc);
  for (const v of vm.vcpus) if (sieUsesGisa(v) && v.psw_io && (v.cr6 & bit) !== 0) return v;
  return undefined;
}

/** Outcome of a firmware-made-pending AI. */
export type FirmwareAiOutcome =
  | 'presentable'
  | 'alerted'
  | 'alerted_no_gal'
  | 'listed'
  | 'iam_clear'
  | 'no_gisa';

/**
 * H1 + H3/H4 for an AI made pending by firmware (AP, zPCI). The direct presentation itself (H2) is a separate
 * step (`sie_present`), so an explorer can interleave it; the script runner settles it right after each op.
 * The whole IAM is cleared on alert (spec §9.1 leaves open whether only the ISC bit is).
 */
export function firmware_ai(w: S390World, vm: VmState, isc: number): FirmwareAiOutcome {
  if (vm.gi.origin === NULL_GISA_ADDR || !w.gib) return 'no_gisa';
  const bit = iscBit(isc);
  vm.gisa.ipm |= bit;
  if (w.tracing) emit(w, { event: 'ipm_set', vm: vm.name, isc, ipm: hex8(vm.gisa.ipm), by: 'firmware' });
  const p = presenter(vm, isc);
  if (p) return 'presentable';
  if (gisa_in_alert_list(vm)) return 'listed';
  if (!(vm.gisa.iam & bit)) return 'iam_clear';
  vm.gisa.iam = 0;
  vm.stat.alerts++;
  const old = w.gib.alert_list_origin;
  vm.gisa.next_alert = old;
  w.gib.alert_list_origin = vm.gisa_addr;
  const gal = old === NULL_GISA_ADDR;
  if (gal) {
    w.gal_pending = true;
    w.stat.gal_raised++;
  }
  if (w.tracing)
    emit(w, {
      event: 'alert',
      vm: vm.name,
      isc,
      next_alert: old === NONE_GISA_ADDR ? 'NONE' : old === NULL_GISA_ADDR ? 'NULL' : hex32(old),
      gal,
    });
  return gal ? 'alerted' : 'alerted_no_gal';
}

/** H2: the SIE presents the highest-priority deliverable IPM ISC to this vCPU and clears its bit. */
export function sie_present(w: S390World, vm: VmState, v: VcpuState): number {
  const isc = topIsc(sieDeliverable(vm, v));
  if (isc < 0) return -1;
  vm.gisa.ipm &= ~iscBit(isc) & 0xff;
  const lc = v.lowcore;
  lc.subchannel_id = 0;
  lc.subchannel_nr = 0;
  lc.io_int_parm = 0;
  lc.io_int_word = isc_to_int_word(isc);
  v.stat.sie_presented++;
  if (w.tracing) emit(w, { event: 'sie_present', vcpu: vcpuName(vm, v), isc, ipm: hex8(vm.gisa.ipm) });
  return isc;
}
