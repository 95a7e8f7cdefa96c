// The `expect` script op: compares named observables of the world with expected values, so a script checks
// itself from the CLI as well as from tests. Masks compare numerically and print as hex.
import { CPUSTAT_IO_INT, CPUSTAT_WAIT, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { originName } from '../s390/alert_list.ts';
import { gisa_in_alert_list } from '../s390/gisa.ts';
import { hex8, hex32, hexBits } from '../s390/isc.ts';
import {
  DESTROY_NAMES,
  type S390World,
  VCPU_STATE_NAMES,
  type VcpuState,
  type VmState,
} from '../s390/world.ts';
import type { ExpectOp } from './s390_schema.ts';

export interface ExpectDiff {
  field: string;
  expected: unknown;
  actual: unknown;
}

type Show = (v: number) => string;

/** "0x00200900(a)" → "a": expectations name GISAs by their VM. */
const stripAddr = (s: string): string => s.replace(/^0x[0-9a-f]+\((.*)\)$/, '$1');

/** next_alert as a name: "self" when unlisted, "NULL"/"NONE", or the next GISA's VM name. */
function nextAlertName(w: S390World, vm: VmState): string {
  if (!gisa_in_alert_list(vm)) return 'self';
  return stripAddr(originName(w, vm.gisa.next_alert));
}

/** Checks every field present in the op; returns the mismatches (empty: all hold). */
export function checkExpect(w: S390World, op: ExpectOp, vm?: VmState, v?: VcpuState): ExpectDiff[] {
  const diffs: ExpectDiff[] = [];
  const eq = (field: string, expected: unknown, actual: unknown, show?: Show): void => {
    if (expected === undefined) return;
    const same = Array.isArray(expected)
      ? JSON.stringify(expected) === JSON.stringify(actual)
      : expected === actual;
    if (same) return;
    const fmt = (x: unknown) => (show && typeof x === 'number' ? show(x) : x);
    diffs.push({ field, expected: fmt(expected), actual: fmt(actual) });
  };

  eq(
    'alert_list_origin',
    op.alert_list_origin,
    w.gib ? stripAddr(originName(w, w.gib.alert_list_origin)) : 'no GIB',
  );
  eq('gal_pending', op.gal_pending, w.gal_pending);
  eq('gib', op.gib, w.gib ? 'present' : 'NULL');
  eq('kvm_loaded', op.kvm_loaded, w.kvm_loaded);
  eq('adapter_registered', op.adapter_registered, w.adapter_registered);
  eq('chsc_associated', op.chsc_associated, w.chsc_gib_origin !== 0);
  eq('gal_count', op.gal_count, w.stat.IRQIO_GAL);
  eq('gal_raised', op.gal_raised, w.stat.gal_raised);
  eq('xchg', op.xchg, w.stat.xchg);

  if (vm) {
    eq('origin', op.origin, vm.gi.origin === NULL_GISA_ADDR ? 'NULL' : 'set');
    eq('ipm', op.ipm, vm.gisa.ipm, hex8);
    eq('iam', op.iam, vm.gisa.iam, hex8);
    eq('mask', op.mask, vm.gi.mask, hex8);
    eq('listed', op.listed, gisa_in_alert_list(vm));
    eq('next_alert', op.next_alert, nextAlertName(w, vm));
    eq('ref_count', op.ref_count, vm.gi.ref_count);
    eq('idle_mask', op.idle_mask, vm.idle_mask, hexBits);
    eq('kicked_mask', op.kicked_mask, vm.gi.kicked_mask, hexBits);
    eq('timer', op.timer, vm.gi.timer_at >= 0 ? 'armed' : 'inactive');
    eq('timer_in_ns', op.timer_in_ns, vm.gi.timer_at >= 0 ? vm.gi.timer_at - w.now : -1);
    eq('float_pending', op.float_pending, vm.fi.pending, hex8);
    eq('io_counter', op.io_counter, vm.fi.io_counter);
    eq('destroy', op.destroy, DESTROY_NAMES[vm.destroy]);
    eq('inject_io', op.inject_io, vm.stat.inject_io);
    eq('kicks', op.kicks, vm.stat.kicks);
    eq('kicker_calls', op.kicker_calls, vm.stat.kicker_calls);
    eq('kicker_restarts', op.kicker_restarts, vm.stat.kicker_restarts);
  }
  if (v) {
    eq('state', op.state, VCPU_STATE_NAMES[v.state]);
    eq('cpustat_wait', op.cpustat_wait, (v.cpuflags & CPUSTAT_WAIT) !== 0);
    eq('cpustat_io_int', op.cpustat_io_int, (v.cpuflags & CPUSTAT_IO_INT) !== 0);
    eq('wakeup_pending', op.wakeup_pending, v.wakeup_pending);
    eq('deliver_io', op.deliver_io, v.stat.deliver_io);
    eq('sie_presented', op.sie_presented, v.stat.sie_presented);
    eq('halt_wakeup', op.halt_wakeup, v.stat.halt_wakeup);
    eq('exit_wait_state', op.exit_wait_state, v.stat.exit_wait_state);
    eq('io_int_word', op.io_int_word, v.lowcore.io_int_word, hex32);
  }
  return diffs;
}
