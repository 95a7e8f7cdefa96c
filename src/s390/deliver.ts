// O8: which I/O interruptions are pending and deliverable for a vCPU, and the three ways KVM consumes them:
// delivery before SIE entry (__deliver_io), the TPI/TSCH intercept (kvm_s390_get_io_int) and the destructive
// migration read (get_all_floating_irqs). Classic list entries always beat the GISA on the same ISC.
import {
  CPUSTAT_EXT_INT,
  CPUSTAT_IO_INT,
  CPUSTAT_STOP_INT,
  KVM_S390_FLIC_MAX_BUFFER,
  KVM_S390_IRQ_SIZE,
  MAX_ISC,
  NULL_GISA_ADDR,
} from '../abi/s390_gisa.ts';
import { EINVAL, ENOMEM } from './errno.ts';
import { kvm_s390_reinject_io_int } from './float_irq.ts';
import { gisa_get_ipm, gisa_set_ipm_gisc, gisa_tac_ipm_gisc } from './gisa.ts';
import { hex32, int_word_to_isc, isc_to_int_word, iscBit, topIsc } from './isc.ts';
import { type ClassicIo, emit, type S390World, type VcpuState, type VmState, vcpuName } from './world.ts';

const hasGisa = (vm: VmState): boolean => vm.gi.origin !== NULL_GISA_ADDR;

/** pending_irqs, I/O classes only, as an ISC mask byte: classic lists | IPM (if the VM has a GISA). */
export const pending_irqs_io = (vm: VmState): number => vm.fi.pending | (hasGisa(vm) ? gisa_get_ipm(vm) : 0);

/** pending_irqs_no_gisa, I/O classes: what may request an I/O intercept (GISA bits never do — H2). */
export const pending_irqs_no_gisa_io = (vm: VmState): number => vm.fi.pending;

/**
 * deliverable_irqs, I/O classes: nothing when the PSW disables I/O, else the ISCs enabled in CR6. It only reads
 * the IPM — restoring the IAM here, right before SIE entry, would only cause useless alerts (v5 patch 12).
 */
export const deliverable_io = (vm: VmState, v: VcpuState): number =>
  v.psw_io ? pending_irqs_io(vm) & v.cr6 : 0;

/** Pop the first classic entry of an ISC list, clearing the float bit when the list empties. */
function popClassic(vm: VmState, isc: number, match?: (e: ClassicIo) => boolean): ClassicIo | undefined {
  const list = vm.fi.lists[isc]!;
  const at = match ? list.findIndex(match) : list.length ? 0 : -1;
  if (at < 0) return undefined;
  const [entry] = list.splice(at, 1);
  vm.fi.io_counter--;
  if (list.length === 0) vm.fi.pending &= ~iscBit(isc) & 0xff;
  return entry;
}

/** Stores the I/O interruption parameters in the guest lowcore (in place: a delivery allocates nothing). */
function writeLowcore(v: VcpuState, id: number, nr: number, parm: number, word: number): void {
  const lc = v.lowcore;
  lc.subchannel_id = id;
  lc.subchannel_nr = nr;
  lc.io_int_parm = parm;
  lc.io_int_word = word;
  v.stat.deliver_io++;
}

/**
 * __deliver_io(isc): a classic entry if the list has one (classic beats GISA); otherwise, if the IPM bit is
 * still set, a synthetic AI with io_int_word 0x80000000|isc<<27 and zero subchannel fields.
 */
export function __deliver_io(
  w: S390World,
  vm: VmState,
  v: VcpuState,
  isc: number,
): 'classic' | 'gisa' | 'none' {
  const entry = popClassic(vm, isc);
  if (entry) {
    writeLowcore(v, entry.subchannel_id, entry.subchannel_nr, entry.io_int_parm, entry.io_int_word);
    if (w.tracing)
      emit(w, {
        event: 'deliver_io',
        vcpu: vcpuName(vm, v),
        isc,
        source: 'classic',
        io_int_word: hex32(entry.io_int_word),
      });
    return 'classic';
  }
  if (hasGisa(vm) && gisa_tac_ipm_gisc(vm, isc)) {
    writeLowcore(v, 0, 0, 0, isc_to_int_word(isc));
    if (w.tracing)
      emit(w, {
        event: 'deliver_io',
        vcpu: vcpuName(vm, v),
        isc,
        source: 'gisa',
        io_int_word: hex32(isc_to_int_word(isc)),
      });
    return 'gisa';
  }
  return 'none';
}

/**
 * kvm_s390_deliver_pending_interrupts, I/O part. The guest's I/O new PSW disables I/O, so the delivery loop
 * stops after one I/O interruption; with classic work left, the intercept indicator asks the SIE to exit once
 * the guest re-enables I/O. The guest handler is modelled as returning to the interrupted PSW at once.
 */
export function kvm_s390_deliver_pending_interrupts(
  w: S390World,
  vm: VmState,
  v: VcpuState,
): 'classic' | 'gisa' | 'none' {
  v.cpuflags = (v.cpuflags & ~(CPUSTAT_IO_INT | CPUSTAT_EXT_INT | CPUSTAT_STOP_INT)) >>> 0;
  v.ckc_pending = false;
  const irqs = deliverable_io(vm, v);
  const delivered = irqs ? __deliver_io(w, vm, v, topIsc(irqs)) : 'none';
  const pswIoNow = delivered === 'none' ? v.psw_io : false;
  if (pending_irqs_no_gisa_io(vm) && !pswIoNow) v.cpuflags = (v.cpuflags | CPUSTAT_IO_INT) >>> 0;
  return delivered;
}

/** What kvm_s390_get_io_int hands back to the TPI/TSCH handler. */
export type IoIntResult =
  | { kind: 'none' }
  | { kind: 'classic'; entry: ClassicIo }
  | { kind: 'ai'; isc: number };

/** get_top_gisa_isc: the highest-priority ISC of isc_mask ∩ IPM whose bit test-and-clears. */
function get_top_gisa_isc(vm: VmState, isc_mask: number, schid: number): number {
  if (schid || !hasGisa(vm)) return -EINVAL;
  let active = isc_mask & gisa_get_ipm(vm);
  while (active) {
    const isc = topIsc(active);
    if (gisa_tac_ipm_gisc(vm, isc)) return isc;
    active &= ~iscBit(isc);
  }
  return -EINVAL;
}

/**
 * kvm_s390_get_io_int(kvm, isc_mask, schid). isc_mask is the CR6 ISC byte. `allocFails` models the kzalloc of
 * the synthetic AI entry failing (then the IPM bit is put back and the classic entry, if any, is returned).
 */
export function kvm_s390_get_io_int(
  w: S390World,
  vm: VmState,
  isc_mask: number,
  schid: number,
  allocFails = false,
): IoIntResult {
  const id = (schid >>> 16) & 0xffff;
  const nr = schid & 0xffff;
  const match = schid ? (e: ClassicIo) => e.subchannel_id === id && e.subchannel_nr === nr : undefined;
  let classic: ClassicIo | undefined;
  for (let isc = 0; isc <= MAX_ISC && !classic; isc++)
    if (isc_mask & iscBit(isc)) classic = popClassic(vm, isc, match);

  const isc = get_top_gisa_isc(vm, isc_mask, schid);
  if (isc < 0) return classic ? { kind: 'classic', entry: classic } : { kind: 'none' };
  if (classic && int_word_to_isc(classic.io_int_word) <= isc) {
    gisa_set_ipm_gisc(vm, isc);
    if (w.tracing) emit(w, { event: 'ipm_restored_bit', vm: vm.name, isc });
    return { kind: 'classic', entry: classic };
  }
  if (allocFails) {
    gisa_set_ipm_gisc(vm, isc);
    return classic ? { kind: 'classic', entry: classic } : { kind: 'none' };
  }
  if (classic) {
    if (w.tracing) emit(w, { event: 'reinject', vm: vm.name, isc: int_word_to_isc(classic.io_int_word) });
    kvm_s390_reinject_io_int(w, vm, classic);
  }
  return { kind: 'ai', isc };
}

export interface MigratedIrq {
  type: 'io_ai' | 'io';
  io_int_word: number;
  subchannel_id: number;
  subchannel_nr: number;
}

/**
 * get_all_floating_irqs(buf, len) (FLIC GET_ALL_IRQS), I/O part. Destructive for the GISA: each IPM bit is
 * consumed as it is copied to the buffer, and the buffer-full check comes first in every ISC iteration — so
 * with a one-record buffer and IPM=0x80 ISC 0 is consumed, then -ENOMEM is returned at ISC 1 and nothing
 * reaches user space (case 26). The classic lists are only read.
 */
export function get_all_floating_irqs(
  vm: VmState,
  len: number,
): { rc: number; irqs: MigratedIrq[]; consumedIpm: number } {
  if (len > KVM_S390_FLIC_MAX_BUFFER || len <= 0) return { rc: -EINVAL, irqs: [], consumedIpm: 0 };
  const max_irqs = Math.floor(len / KVM_S390_IRQ_SIZE);
  const buf: MigratedIrq[] = [];
  let consumedIpm = 0;
  if (hasGisa(vm) && gisa_get_ipm(vm)) {
    for (let i = 0; i <= MAX_ISC; i++) {
      if (buf.length === max_irqs) return { rc: -ENOMEM, irqs: [], consumedIpm };
      if (gisa_tac_ipm_gisc(vm, i)) {
        consumedIpm |= iscBit(i);
        buf.push({ type: 'io_ai', io_int_word: isc_to_int_word(i), subchannel_id: 0, subchannel_nr: 0 });
      }
    }
  }
  for (const list of vm.fi.lists)
    for (const e of list) {
      if (buf.length === max_irqs) return { rc: -ENOMEM, irqs: [], consumedIpm };
      buf.push({
        type: e.ai ? 'io_ai' : 'io',
        io_int_word: e.io_int_word,
        subchannel_id: e.subchannel_id,
        subchannel_nr: e.subchannel_nr,
      });
    }
  return { rc: buf.length, irqs: buf, consumedIpm };
}
