// Enabling and disabling APF per CPU (x86-apf §4.1, §4.2, §4.6; the legacy guest §5.3) as kernel work:
// each request pushes a short list of ops onto the CPU's queue, and the CPU executes one op per step
// before anything else it would do (as the boot code, the CPU-hotplug thread or a reboot IPI would).
// Every WRMSR is its own step, so the host can act between the INT and the EN write, or between EN and
// the `enabled` store.
import { APIC_SPIV, X2APIC_MSR_SVR } from '../../../abi/apicdef.ts';
import { HYPERVISOR_CALLBACK_VECTOR } from '../../../abi/kvm_host.ts';
import {
  KVM_ASYNC_PF_DELIVERY_AS_INT,
  KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT,
  KVM_ASYNC_PF_ENABLED,
  KVM_ASYNC_PF_SEND_ALWAYS,
  KVM_FEATURE_ASYNC_PF_VMEXIT,
  MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_ASYNC_PF_INT,
} from '../../../abi/kvm_para.ts';
import { BUG_INT_AFTER_EN } from '../../../host/x86/bugs.ts';
import { apic_x2apic_mode } from '../../../host/x86/lapic.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { kvm_lapic_write } from '../../../host/x86/x86.ts';
import { apfEnabled, apfReasonPa, setApfEnabled } from './apf_reason.ts';
import { asyncPfWanted, isLegacyGuest, kvm_para_has_feature } from './config.ts';
import type { GuestCtx } from './context.ts';
import { guestWrmsr } from './guest_msr.ts';
import { migrateTasksAway } from './scheduler.ts';
import { apf_task_wake_all } from './sleep_table.ts';
import { GSTEP_KERNEL, KQ_CAP, type LinuxGuestState } from './state.ts';

export const KOP_CLI = 1;
export const KOP_STI = 2;
/** setup_local_APIC: SVR := APIC_SPIV_APIC_ENABLED | SPURIOUS_APIC_VECTOR (0x1ff). */
export const KOP_APIC_SW_ENABLE = 3;
/** kvm_guest_cpu_init: wrmsrq(MSR_KVM_ASYNC_PF_INT, HYPERVISOR_CALLBACK_VECTOR). */
export const KOP_APF_INT = 4;
/** kvm_guest_cpu_init: wrmsrq(MSR_KVM_ASYNC_PF_EN, pa | ENABLED | DELIVERY_AS_INT [| PF_VMEXIT]). */
export const KOP_APF_EN = 5;
/** kvm_guest_cpu_init: enabled := 1. */
export const KOP_APF_SET_ENABLED = 6;
/** kvm_pv_disable_apf: if enabled, wrmsrq(MSR_KVM_ASYNC_PF_EN, 0) … */
export const KOP_PV_DISABLE_WRMSR = 7;
/** … then enabled := 0. */
export const KOP_PV_DISABLE_CLEAR = 8;
/** kvm_guest_cpu_offline(shutdown = false): apf_task_wake_all() for this CPU. */
export const KOP_WAKE_ALL = 9;
/** The CPU leaves the scheduler (its tasks move away) and parks in `cli; hlt`. */
export const KOP_PARK = 10;
export const KOP_UNPARK = 11;

export const KOP_NAMES: readonly string[] = [
  'none',
  'cli',
  'sti',
  'apic_sw_enable',
  'wrmsr ASYNC_PF_INT',
  'wrmsr ASYNC_PF_EN',
  'enabled := 1',
  'wrmsr ASYNC_PF_EN = 0',
  'enabled := 0',
  'apf_task_wake_all',
  'park',
  'unpark',
];

function kqPush(st: LinuxGuestState, cpu: number, op: number): void {
  const len = st.cpu.kqLen[cpu]!;
  if (len >= KQ_CAP) throw new RangeError(`cpu ${cpu}: more than ${KQ_CAP} queued kernel ops`);
  st.cpu.kq[cpu * KQ_CAP + len] = op;
  st.cpu.kqLen[cpu] = len + 1;
}

/**
 * @kernel kvm_guest_init, the APF part (x86-apf §4.1): turn on the static key that gates the #PF hook and
 * install the 0xf3 system-vector handler, if CPUID has KVM_FEATURE_ASYNC_PF_INT and no `no-kvmapf`.
 * The legacy guest (§5.3) has no system vector: it installs do_async_page_fault as the #PF handler if
 * CPUID has KVM_FEATURE_ASYNC_PF, and reads the reason only while `enabled` is set, which `no-kvmapf`
 * keeps clear — the same as a static key that stays off, which is how the model records it.
 * Boot-time setup with no MSR access, so not a step.
 */
export function kvm_guest_init(st: LinuxGuestState): void {
  const on = asyncPfWanted(st.config);
  st.kvm_async_pf_enabled = on;
  st.sysvec_installed = on && !isLegacyGuest(st.config);
}

/** Pending kernel ops on this CPU. */
export const kqPending = (st: LinuxGuestState, cpu: number): number =>
  st.cpu.kqLen[cpu]! - st.cpu.kqPos[cpu]!;

/**
 * The kvm_guest_cpu_init ops (x86-apf §4.2), when kvm_guest_init enabled APF: INT strictly before EN —
 * the EN write queues a wakeup-all that the host may deliver right after the WRMSR exit, with whatever
 * vector INT holds then (§6.1 item 10). The `int-after-en` bug swaps the two writes. The legacy guest
 * (§5.3) writes EN only.
 */
function pushCpuInit(st: LinuxGuestState, cpu: number): void {
  if (!asyncPfWanted(st.config)) return;
  if (isLegacyGuest(st.config)) kqPush(st, cpu, KOP_APF_EN);
  else if (st.config.bugs & BUG_INT_AFTER_EN) {
    kqPush(st, cpu, KOP_APF_EN);
    kqPush(st, cpu, KOP_APF_INT);
  } else {
    kqPush(st, cpu, KOP_APF_INT);
    kqPush(st, cpu, KOP_APF_EN);
  }
  kqPush(st, cpu, KOP_APF_SET_ENABLED);
}

/**
 * Boot of `cpu`, entered with IF=0. The boot CPU runs kvm_guest_cpu_init from smp_prepare_boot_cpu,
 * enables interrupts in start_kernel and sets up its LAPIC later (late_time_init); a secondary CPU sets
 * up its LAPIC first and runs kvm_cpu_online (IRQs saved off) from the CPU-online callbacks.
 */
export function pushBoot(st: LinuxGuestState, cpu: number): void {
  const apic = st.config.apic_enable_at_boot;
  if (cpu === 0) {
    pushCpuInit(st, cpu);
    kqPush(st, cpu, KOP_STI);
    if (apic) kqPush(st, cpu, KOP_APIC_SW_ENABLE);
  } else {
    if (apic) kqPush(st, cpu, KOP_APIC_SW_ENABLE);
    pushCpuInit(st, cpu);
    kqPush(st, cpu, KOP_STI);
  }
}

/**
 * kvm_cpu_down_prepare → kvm_guest_cpu_offline(false) (CPU hotplug), or with `shutdown` the reboot and
 * crash paths (kvm_guest_cpu_offline(true): no wake-all). Then the CPU parks. x86-apf §4.6, case 73.
 * 4.19 and 5.10 have the same two paths under other names: kvm_guest_cpu_offline() always wakes all,
 * kvm_pv_guest_cpu_reboot() does not.
 */
export function requestCpuOffline(st: LinuxGuestState, cpu: number, shutdown: boolean): boolean {
  // The hotplug core refuses to take down a CPU that is offline or already going down.
  if (st.cpu.online[cpu] !== 1 || offlinePending(st, cpu)) return false;
  kqPush(st, cpu, KOP_CLI);
  kqPush(st, cpu, KOP_PV_DISABLE_WRMSR);
  kqPush(st, cpu, KOP_PV_DISABLE_CLEAR);
  if (!shutdown) kqPush(st, cpu, KOP_WAKE_ALL);
  kqPush(st, cpu, KOP_PARK);
  return true;
}

/** A park is queued on `cpu` and not yet run (an offline request in progress). */
function offlinePending(st: LinuxGuestState, cpu: number): boolean {
  const c = st.cpu;
  for (let i = c.kqPos[cpu]!; i < c.kqLen[cpu]!; i++) if (c.kq[cpu * KQ_CAP + i] === KOP_PARK) return true;
  return false;
}

/** CPU online (or resume): kvm_cpu_online → kvm_guest_cpu_init with IRQs saved off. */
export function requestCpuOnline(st: LinuxGuestState, cpu: number): void {
  kqPush(st, cpu, KOP_UNPARK);
  if (st.config.apic_enable_at_boot) kqPush(st, cpu, KOP_APIC_SW_ENABLE);
  kqPush(st, cpu, KOP_CLI);
  pushCpuInit(st, cpu);
  kqPush(st, cpu, KOP_STI);
}

/** kvm_pv_disable_apf alone, with IRQs off around it. */
export function requestPvDisableApf(st: LinuxGuestState, cpu: number): void {
  kqPush(st, cpu, KOP_CLI);
  kqPush(st, cpu, KOP_PV_DISABLE_WRMSR);
  kqPush(st, cpu, KOP_PV_DISABLE_CLEAR);
  kqPush(st, cpu, KOP_STI);
}

/**
 * The EN value kvm_guest_cpu_init writes: pa | ENABLED | DELIVERY_AS_INT [| PF_VMEXIT if CPUID has it];
 * SEND_ALWAYS is never set (3a7c8fafd1b4). The legacy guest (x86-apf §5.3): pa | ENABLED
 * [| SEND_ALWAYS with CONFIG_PREEMPT] [| PF_VMEXIT if CPUID has it].
 */
export function apfEnValue(st: LinuxGuestState, cpu: number): bigint {
  const c = st.config;
  let bits = KVM_ASYNC_PF_ENABLED;
  if (isLegacyGuest(c)) {
    if (c.preempt) bits |= KVM_ASYNC_PF_SEND_ALWAYS;
  } else bits |= KVM_ASYNC_PF_DELIVERY_AS_INT;
  if (kvm_para_has_feature(c, KVM_FEATURE_ASYNC_PF_VMEXIT)) bits |= KVM_ASYNC_PF_DELIVERY_AS_PF_VMEXIT;
  return BigInt(apfReasonPa(c, cpu)) | BigInt(bits);
}

/** Executes the next kernel op of this CPU. */
export function stepKernelOp(g: GuestCtx, vcpu: KvmVcpu): void {
  const { vm, state: st } = g;
  const c = vcpu.vcpu_id;
  const cpu = st.cpu;
  const op = cpu.kq[c * KQ_CAP + cpu.kqPos[c]!]!;
  cpu.kqPos[c] = cpu.kqPos[c]! + 1;
  if (cpu.kqPos[c] === cpu.kqLen[c]) {
    cpu.kqPos[c] = 0;
    cpu.kqLen[c] = 0;
  }
  vm.effects.kind = GSTEP_KERNEL;
  vcpu.cpl = 0;
  switch (op) {
    case KOP_CLI:
      vcpu.rflags_if = false;
      return;
    case KOP_STI:
      vcpu.rflags_if = true;
      return;
    case KOP_APIC_SW_ENABLE:
      if (apic_x2apic_mode(vcpu.apic)) guestWrmsr(g, vcpu, X2APIC_MSR_SVR, 0x1ffn);
      else kvm_lapic_write(vm, vcpu, APIC_SPIV, 0x1ff);
      return;
    case KOP_APF_INT:
      guestWrmsr(g, vcpu, MSR_KVM_ASYNC_PF_INT, BigInt(HYPERVISOR_CALLBACK_VECTOR));
      return;
    case KOP_APF_EN:
      guestWrmsr(g, vcpu, MSR_KVM_ASYNC_PF_EN, apfEnValue(st, c));
      return;
    case KOP_APF_SET_ENABLED:
      setApfEnabled(vm.mem, st.config, cpu.percpuEnabled, c, true);
      return;
    case KOP_PV_DISABLE_WRMSR:
      if (apfEnabled(vm.mem, st.config, cpu.percpuEnabled, c)) guestWrmsr(g, vcpu, MSR_KVM_ASYNC_PF_EN, 0n);
      else if (cpu.kqLen[c]! > cpu.kqPos[c]! && cpu.kq[c * KQ_CAP + cpu.kqPos[c]!] === KOP_PV_DISABLE_CLEAR) {
        // `if (!enabled) return;` skips the store too.
        cpu.kqPos[c] = cpu.kqPos[c]! + 1;
        if (cpu.kqPos[c] === cpu.kqLen[c]) {
          cpu.kqPos[c] = 0;
          cpu.kqLen[c] = 0;
        }
      }
      return;
    case KOP_PV_DISABLE_CLEAR:
      setApfEnabled(vm.mem, st.config, cpu.percpuEnabled, c, false);
      return;
    case KOP_WAKE_ALL:
      g.wakerCpu = c;
      apf_task_wake_all(st.sleepers, c, g.wake);
      return;
    case KOP_PARK:
      cpu.online[c] = 0;
      migrateTasksAway(g, c);
      vcpu.rflags_if = false;
      return;
    case KOP_UNPARK:
      cpu.online[c] = 1;
      cpu.curr[c] = -1;
      return;
    default:
      throw new Error(`cpu ${c}: unknown kernel op ${op}`);
  }
}
