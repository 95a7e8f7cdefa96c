// The per-CPU `apf_reason` (struct kvm_vcpu_pv_apf_data, x86-apf §1.6) in guest RAM and the per-CPU
// "enabled" flag. Linux declares apf_reason __aligned(64) per CPU; the model places CPU n's copy at
// base + n * stride. The host writes `flags` (offset 0) and `token` (offset 4) through its hva cache;
// the guest reads and clears them with plain loads and stores, each one instruction.
import { kvm_vcpu_pv_apf_data } from '../../../abi/kvm_para.ts';
import type { GuestMemory } from '../../../mem/guest_memory.ts';
import type { LinuxGuestConfig } from './config.ts';

/** The guest physical address of CPU `cpu`'s apf_reason: slow_virt_to_phys(per_cpu_ptr(&apf_reason, cpu)). */
export const apfReasonPa = (c: LinuxGuestConfig, cpu: number): number =>
  c.apf_reason_base + cpu * c.apf_reason_stride;

export const readApfToken = (mem: GuestMemory, c: LinuxGuestConfig, cpu: number): number =>
  mem.readU32(apfReasonPa(c, cpu) + kvm_vcpu_pv_apf_data.token.offset);

/** __this_cpu_write(apf_reason.token, 0) */
export const clearApfToken = (mem: GuestMemory, c: LinuxGuestConfig, cpu: number): void =>
  mem.writeU32(apfReasonPa(c, cpu) + kvm_vcpu_pv_apf_data.token.offset, 0);

/**
 * This CPU's "async PF is on" flag: `apf_reason.enabled` in guest RAM, or the separate per-CPU bool.
 * `percpu` is the model's storage for the latter (LinuxGuestState.cpu.percpuEnabled).
 */
export function apfEnabled(mem: GuestMemory, c: LinuxGuestConfig, percpu: Int32Array, cpu: number): boolean {
  if (c.enabled_flag === 'percpu') return percpu[cpu] !== 0;
  return mem.readU32(apfReasonPa(c, cpu) + kvm_vcpu_pv_apf_data.enabled.offset) !== 0;
}

export function setApfEnabled(
  mem: GuestMemory,
  c: LinuxGuestConfig,
  percpu: Int32Array,
  cpu: number,
  on: boolean,
): void {
  if (c.enabled_flag === 'percpu') percpu[cpu] = on ? 1 : 0;
  else mem.writeU32(apfReasonPa(c, cpu) + kvm_vcpu_pv_apf_data.enabled.offset, on ? 1 : 0);
}

/**
 * @kernel kvm_read_and_reset_apf_flags: if this CPU has APF on, read `flags` and write 0; otherwise 0.
 * One step: it runs with IF=0 and the host only writes `flags` when it may inject (IF=1), so nothing can
 * come between the load and the store.
 */
export function kvm_read_and_reset_apf_flags(
  mem: GuestMemory,
  c: LinuxGuestConfig,
  percpu: Int32Array,
  cpu: number,
): number {
  if (!apfEnabled(mem, c, percpu, cpu)) return 0;
  const pa = apfReasonPa(c, cpu) + kvm_vcpu_pv_apf_data.flags.offset;
  const flags = mem.readU32(pa);
  mem.writeU32(pa, 0);
  return flags;
}
