// Floating I/O interruptions injected by KVM software (O7): kvm_s390_inject_vm for I/O types, __inject_io
// and __floating_irq_kick. With a GISA an adapter interruption only sets an IPM bit — no list entry, no counter,
// no CPUSTAT_IO_INT — because the SIE presents IPM bits itself (H2); software injection never relies on a GIB
// alert (millicode is not involved), so KVM kicks a vCPU itself.
import { CPUSTAT_IO_INT, MAX_ISC, NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { EBUSY } from './errno.ts';
import { gisa_set_ipm_gisc, kvm_s390_gisa_clear } from './gisa.ts';
import { kvm_s390_vcpu_wakeup } from './idle.ts';
import { find_first_bit, hex8, iscBit } from './isc.ts';
import {
  type ClassicIo,
  emit,
  type S390World,
  VCPU_GONE,
  type VcpuState,
  type VmState,
  vcpuName,
} from './world.ts';

/** What kvm_s390_inject_vm is given for an I/O type (s390int->parm / parm64 already split). */
export interface IoInject {
  ai: boolean;
  isc: number;
  subchannel_id: number;
  subchannel_nr: number;
  io_int_parm: number;
}

/** io_int_word of an injected I/O interruption: the AI flag (for adapter interruptions) and the ISC. */
export const ioIntWord = (ai: boolean, isc: number): number => ((ai ? 0x80000000 : 0) | (isc << 27)) >>> 0;

/** No vCPU state is "stopped" in this model (is_vcpu_stopped), except destroyed ones. */
const is_vcpu_stopped = (v: VcpuState): boolean => v.state === VCPU_GONE;

/**
 * The target choice of __floating_irq_kick (v2–v5 factored it out as __find_vcpu_for_floating_irq and also
 * used it to kick after a GIB alert). idle_first: the lowest idle bit below online_vcpus, else round robin
 * from next_rr_cpu skipping stopped vCPUs, giving up after online_vcpus tries. last_sleep_cpu (6.18): start at
 * the vCPU that most recently went to sleep and take the first one that is not stopped.
 */
export function __find_vcpu_for_floating_irq(w: S390World, vm: VmState): VcpuState | undefined {
  const online = vm.online_vcpus;
  if (!online) return undefined;
  let sigcpu: number;
  let tries = 0;
  if (w.cfg.floating_kick === 'last_sleep_cpu') {
    for (sigcpu = vm.fi.last_sleep_cpu; ; sigcpu++) {
      sigcpu %= online;
      if (!is_vcpu_stopped(vm.vcpus[sigcpu]!)) break;
      if (tries++ >= online) return undefined;
    }
    return vm.vcpus[sigcpu];
  }
  sigcpu = find_first_bit(vm.idle_mask, online);
  if (sigcpu === online) {
    do {
      sigcpu = vm.fi.next_rr_cpu++;
      vm.fi.next_rr_cpu %= online;
      if (tries++ >= online) return undefined;
    } while (is_vcpu_stopped(vm.vcpus[sigcpu]!));
  }
  return vm.vcpus[sigcpu];
}

/**
 * __floating_irq_kick for an I/O type: CPUSTAT_IO_INT asks the SIE to exit for a classic I/O interruption; it
 * is not set for an AI when the GISA is in use, since the SIE can present that one by itself.
 */
export function __floating_irq_kick(w: S390World, vm: VmState, ai: boolean): void {
  const dst = __find_vcpu_for_floating_irq(w, vm);
  if (!dst) {
    if (w.tracing) emit(w, { event: 'floating_kick', vm: vm.name, target: null });
    return;
  }
  const ioInt = !(ai && vm.gi.origin !== NULL_GISA_ADDR);
  if (ioInt) dst.cpuflags = (dst.cpuflags | CPUSTAT_IO_INT) >>> 0;
  if (w.tracing)
    emit(w, { event: 'floating_kick', vm: vm.name, target: vcpuName(vm, dst), cpustat_io_int: ioInt });
  kvm_s390_vcpu_wakeup(w, vm, dst, '__floating_irq_kick');
}

/** Appends an entry to a classic ISC list and sets the float pending bit. */
function queueClassic(vm: VmState, isc: number, entry: ClassicIo): void {
  vm.fi.io_counter++;
  vm.fi.lists[isc]!.push(entry);
  vm.fi.pending |= iscBit(isc);
}

/** __inject_io: GISA path for AIs, classic per-ISC list otherwise (bounded by KVM_S390_MAX_FLOAT_IRQS). */
export function __inject_io(w: S390World, vm: VmState, io: IoInject): number {
  vm.stat.inject_io++;
  const isc = io.isc & MAX_ISC;
  if (vm.gi.origin !== NULL_GISA_ADDR && io.ai) {
    gisa_set_ipm_gisc(vm, isc);
    if (w.tracing)
      emit(w, { event: 'ipm_set', vm: vm.name, isc, ipm: hex8(vm.gisa.ipm), by: 'gisa_set_ipm_gisc' });
    return 0;
  }
  if (vm.fi.io_counter >= w.cfg.max_float_irqs) return -EBUSY;
  queueClassic(vm, isc, {
    ai: io.ai,
    subchannel_id: io.subchannel_id,
    subchannel_nr: io.subchannel_nr,
    io_int_parm: io.io_int_parm >>> 0,
    io_int_word: ioIntWord(io.ai, isc),
  });
  if (w.tracing)
    emit(w, { event: 'queued', vm: vm.name, isc, ai: io.ai, list_len: vm.fi.lists[isc]!.length });
  return 0;
}

/** kvm_s390_inject_vm for an I/O type: inject, then kick a vCPU (only on success). */
export function kvm_s390_inject_vm(w: S390World, vm: VmState, io: IoInject): number {
  const rc = __inject_io(w, vm, io);
  if (rc) return rc;
  __floating_irq_kick(w, vm, io.ai);
  return 0;
}

/** kvm_s390_reinject_io_int: __inject_vm again — appended at the list tail, and it kicks. */
export function kvm_s390_reinject_io_int(w: S390World, vm: VmState, entry: ClassicIo): number {
  const isc = (entry.io_int_word >>> 27) & MAX_ISC;
  return kvm_s390_inject_vm(w, vm, {
    ai: entry.ai,
    isc,
    subchannel_id: entry.subchannel_id,
    subchannel_nr: entry.subchannel_nr,
    io_int_parm: entry.io_int_parm,
  });
}

/** kvm_s390_clear_float_irqs (FLIC CLEAR_IRQS): drop the classic lists, then kvm_s390_gisa_clear. */
export function kvm_s390_clear_float_irqs(w: S390World, vm: VmState): void {
  for (const list of vm.fi.lists) list.length = 0;
  vm.fi.pending = 0;
  vm.fi.io_counter = 0;
  kvm_s390_gisa_clear(w, vm);
}
