// The in-kernel local APIC, reduced to what async PF needs (arch/x86/kvm/lapic.c): hardware enable
// (APIC_BASE), software enable (SPIV bit 8), fixed edge-triggered delivery through IRR/ISR, TPR/PPR,
// EOI. Vectors whose priority class is not above PPR are never delivered, so vectors 0–15 stay in IRR
// forever (kvm-oracle §4 S7). IRR survives a software disable (S12).
import {
  APIC_DEFAULT_PHYS_BASE,
  APIC_EOI,
  APIC_SPIV,
  APIC_SPIV_APIC_ENABLED,
  APIC_TASKPRI,
  MSR_IA32_APICBASE_BSP,
  MSR_IA32_APICBASE_ENABLE,
  MSR_IA32_APICBASE_EXTD,
} from '../../abi/apicdef.ts';
import { TP_KVM_APIC_ACCEPT_IRQ } from './trace.ts';
import type { KvmVcpu } from './vcpu.ts';
import type { KvmVm } from './vm.ts';

export interface KvmLapic {
  /** MSR_IA32_APICBASE. */
  apic_base: number;
  /** Spurious-interrupt vector register; bit 8 is the software enable. Reset value 0xff. */
  spiv: number;
  tpr: number;
  /** 256-bit request and in-service registers. */
  irr: Uint32Array;
  isr: Uint32Array;
  /**
   * The highest vector set in irr / isr, or -1 (the kernel's highest_isr_cache, here for both): the
   * interrupt-window check runs after every guest instruction, so it must not scan 256 bits each time.
   * Every write to irr/isr goes through this file; code that fills them directly (state restore) calls
   * apic_update_highest.
   */
  highest_irr: number;
  highest_isr: number;
}

/**
 * MSR_IA32_APICBASE after RESET: 0xfee00000 | ENABLE (| BSP). Unsigned: `|` on numbers is a signed 32-bit
 * operation, and 0xfee00000 has bit 31 set.
 */
const resetApicBase = (bsp: boolean): number =>
  (APIC_DEFAULT_PHYS_BASE | MSR_IA32_APICBASE_ENABLE | (bsp ? MSR_IA32_APICBASE_BSP : 0)) >>> 0;

export function newLapic(bsp: boolean): KvmLapic {
  return {
    apic_base: resetApicBase(bsp),
    spiv: 0xff,
    tpr: 0,
    irr: new Uint32Array(8),
    isr: new Uint32Array(8),
    highest_irr: -1,
    highest_isr: -1,
  };
}

/** @kernel kvm_lapic_reset (the parts modelled): INIT/RESET leave APIC_BASE alone on INIT. */
export function kvm_lapic_reset(apic: KvmLapic, initEvent: boolean, bsp: boolean): void {
  if (!initEvent) apic.apic_base = resetApicBase(bsp);
  apic.spiv = 0xff;
  apic.tpr = 0;
  apic.irr.fill(0);
  apic.isr.fill(0);
  apic.highest_irr = -1;
  apic.highest_isr = -1;
}

export const kvm_apic_hw_enabled = (apic: KvmLapic): boolean =>
  (apic.apic_base & MSR_IA32_APICBASE_ENABLE) !== 0;
export const kvm_apic_sw_enabled = (apic: KvmLapic): boolean => (apic.spiv & APIC_SPIV_APIC_ENABLED) !== 0;
/** @kernel kvm_apic_enabled: hardware- and software-enabled. */
export const kvm_apic_enabled = (apic: KvmLapic): boolean =>
  kvm_apic_hw_enabled(apic) && kvm_apic_sw_enabled(apic);
export const apic_x2apic_mode = (apic: KvmLapic): boolean =>
  (apic.apic_base & (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD)) ===
  (MSR_IA32_APICBASE_ENABLE | MSR_IA32_APICBASE_EXTD);

const testBit = (r: Uint32Array, v: number): boolean => ((r[v >>> 5]! >>> (v & 31)) & 1) !== 0;
const setBit = (r: Uint32Array, v: number): void => {
  r[v >>> 5] = r[v >>> 5]! | (1 << (v & 31));
};
const clearBit = (r: Uint32Array, v: number): void => {
  r[v >>> 5] = r[v >>> 5]! & ~(1 << (v & 31));
};
function highest(r: Uint32Array): number {
  for (let w = 7; w >= 0; w--) if (r[w] !== 0) return w * 32 + 31 - Math.clz32(r[w]!);
  return -1;
}

export const apic_irr_test = (apic: KvmLapic, vector: number): boolean => testBit(apic.irr, vector);
export const apic_find_highest_isr = (apic: KvmLapic): number => apic.highest_isr;

/**
 * Recomputes the highest-vector caches after irr/isr were written wholesale (a state restore).
 * @model the model's own cache (the kernel scans IRR/ISR, apic_find_highest_irr/isr).
 */
export function apic_update_highest(apic: KvmLapic): void {
  apic.highest_irr = highest(apic.irr);
  apic.highest_isr = highest(apic.isr);
}

/** @kernel apic_update_ppr: the processor priority is the higher of TPR and the in-service class. */
export function apic_ppr(apic: KvmLapic): number {
  const isrv = apic_find_highest_isr(apic);
  const isrClass = isrv < 0 ? 0 : isrv & 0xf0;
  return (apic.tpr & 0xf0) >= isrClass ? apic.tpr & 0xff : isrClass;
}

/**
 * @kernel __apic_accept_irq (APIC_DM_FIXED, edge): a software-disabled APIC drops the interrupt.
 * Returns whether it was accepted into IRR.
 */
export function kvm_apic_set_irq(apic: KvmLapic, vector: number): boolean {
  if (!kvm_apic_sw_enabled(apic)) return false;
  const v = vector & 0xff;
  setBit(apic.irr, v);
  if (v > apic.highest_irr) apic.highest_irr = v;
  return true;
}

/**
 * kvm_apic_set_irq with the tracepoint __apic_accept_irq fires first, whether or not the APIC then
 * accepts the interrupt (fixed, edge). Returns whether it was accepted into IRR.
 * @kernel __apic_accept_irq (trace_kvm_apic_accept_irq, read in the 6.18.38 tree: before the enabled check).
 */
export function kvm_apic_accept_irq(vm: KvmVm, vcpu: KvmVcpu, vector: number): boolean {
  vm.hooks.kvmTrace?.(vcpu.vcpu_id, TP_KVM_APIC_ACCEPT_IRQ, vcpu.vcpu_id, vector & 0xff, 0, 0n, null);
  return kvm_apic_set_irq(vcpu.apic, vector);
}

/**
 * @kernel kvm_apic_has_interrupt: the highest IRR vector whose class is above PPR, or -1.
 * A hardware-disabled APIC delivers nothing.
 */
export function kvm_apic_has_interrupt(apic: KvmLapic): number {
  const v = apic.highest_irr;
  if (v < 0 || !kvm_apic_hw_enabled(apic) || (v & 0xf0) <= (apic_ppr(apic) & 0xf0)) return -1;
  return v;
}

/** @kernel kvm_apic_ack_interrupt: the vector moves from IRR to ISR as it is delivered. */
export function kvm_apic_ack_interrupt(apic: KvmLapic, vector: number): void {
  clearBit(apic.irr, vector);
  setBit(apic.isr, vector);
  if (vector === apic.highest_irr) apic.highest_irr = highest(apic.irr);
  if (vector > apic.highest_isr) apic.highest_isr = vector;
}

/** @kernel apic_set_eoi: retire the highest in-service vector. */
export function apic_set_eoi(apic: KvmLapic): number {
  const v = apic.highest_isr;
  if (v >= 0) {
    clearBit(apic.isr, v);
    apic.highest_isr = highest(apic.isr);
  }
  return v;
}

/**
 * A register write (xAPIC MMIO offset or x2APIC MSR 0x800 + offset/16). Returns true when the write
 * enabled-or-kept-enabled the software APIC: apic_set_spiv then raises KVM_REQ_APF_READY, on every SVR
 * write with the enable bit (kvm-oracle §4 S2, S10).
 */
export function kvm_lapic_reg_write(
  apic: KvmLapic,
  reg: number,
  val: number,
): 'spiv-enabled' | 'ok' | 'unhandled' {
  switch (reg) {
    case APIC_TASKPRI:
      apic.tpr = val & 0xff;
      return 'ok';
    case APIC_EOI:
      apic_set_eoi(apic);
      return 'ok';
    case APIC_SPIV:
      apic.spiv = val & 0x3ff;
      return kvm_apic_sw_enabled(apic) ? 'spiv-enabled' : 'ok';
    default:
      return 'unhandled';
  }
}
