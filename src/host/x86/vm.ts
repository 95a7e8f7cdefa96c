// struct kvm for x86: the VM-wide configuration the APF code consults, guest memory, the vCPUs, and the
// hooks through which a scheduler (the script runner, the simulator or the explorer) learns about work
// it must run later and the guest model receives injected events.
import { GuestMemory } from '../../mem/guest_memory.ts';
import type { PageStates } from '../../mem/page_state.ts';
import type { EraConfig } from './era.ts';
import { HostMaps, type HostMapsConfig, hostMapEra } from './host_maps.ts';
import type { X86KernelFns } from './kernel_fns.ts';
import { type MmuCachesVm, newMmuCachesVm } from './mmu_caches_vm.ts';
import type { MmuBehaviour } from './mmu_era.ts';
import type { KvmHugepages } from './mmu_hugepage.ts';
import { type KvmMmuNotifier, type MmuHost, newMmuNotifier } from './mmu_notifier.ts';
import { HostMm } from './primary_mmu.ts';
import type { KvmVmPv } from './pv_state.ts';
import { StepEffects } from './step_effects.ts';
import type { KvmTraceSink, TraceSink } from './trace.ts';
import { EXITING_GUEST_MODE, IN_GUEST_MODE, type KvmVcpu, newVcpu } from './vcpu.ts';

export interface VmConfig {
  /** KVM_CREATE_IRQCHIP: the LAPIC is emulated in the kernel. */
  irqchip: boolean;
  /** KVM_CAP_ENFORCE_PV_FEATURE_CPUID enabled on the vCPUs. */
  enforce_pv_cpuid: boolean;
  /** The guest's CPUID 0x40000001.eax. */
  kvm_features: number;
  /** KVM_CAP_X86_DISABLE_EXITS(HLT). */
  hlt_in_guest: boolean;
  /** SEV-ES/SNP/TDX. */
  guest_state_protected: boolean;
  /** TDP (direct MMU) rather than shadow paging. */
  tdp: boolean;
  /** Bytes of RAM at GPA 0. */
  memory: number;
  /**
   * The host can do async page faults at all (CONFIG_KVM_ASYNC_PF). Without it every fault that needs
   * I/O blocks the vCPU thread (the simulator's `apf: sync` mode). Defaults to true.
   */
  async_pf?: boolean;
  vcpus: number;
  /**
   * Model KVM's MMU notifiers (mmu_notifier.ts): the fault takes the invalidate-sequence snapshot and
   * re-checks it under mmu_lock, host memory operations run start → PTE change → [change_pte] → end.
   * Off (the default), a fault is one atomic step and reclaim drops the page and its SPTE together, as
   * before the notifier model; the outputs of scenarios that do not ask for it stay what they were.
   */
  mmu_notifiers?: boolean;
  /** Split the fault at the kernel's sleep points, so other steps interleave between GUP and mmu_lock. */
  split_fault?: boolean;
  /** The initial mmu_invalidate_seq (to reach 2^31 invalidations: mmu-seq-sign-extension). */
  mmu_seq_start?: number;
  /**
   * Model the MMU memory caches (mmu_caches_vm.ts; needs mmu_notifiers): topups on the fault path and in
   * kvm_mmu_load, the paging-structure pages an install really takes, the host allocator with its
   * failure injection. Off (the default), topup always succeeds and nothing is allocated or counted.
   */
  mmu_caches?: boolean;
  /**
   * The guest mapping API (kvm_vcpu_map; host_maps.ts): host backing per page, the callers' maps. Absent,
   * the VM has none of it and its behaviour is what it was before the API was modelled.
   */
  host_maps?: HostMapsConfig;
}

/** What the host model tells its scheduler and the guest model. */
export interface HostHooks {
  /** schedule_work(async_pf_execute): run `async_pf_execute(vm, vcpu, slot)` later (check wGen). */
  asyncWorkQueued(vcpu: KvmVcpu, slot: number): void;
  /** The vCPU thread blocked on a synchronous fault-in; call `kvm_sync_fault_done` when it completes. */
  syncFault(vcpu: KvmVcpu, gfn: number): void;
  /** kvm_vcpu_kick: an IPI that forces the vCPU out of guest mode. */
  kick(vcpu: KvmVcpu): void;
  /** Tracepoints, or null when tracing is off. */
  trace: TraceSink | null;
  /** The exit, injection and MSR tracepoints (trace.ts TP_KVM_EXIT…). Absent or null: nobody listens. */
  kvmTrace?: KvmTraceSink | null;
  /** A host kernel WARN (a splat in dmesg), e.g. the Q-EN-1 cached access. */
  warn?: (vcpu: KvmVcpu, message: string) => void;
  /**
   * VM entry is injecting an event (INJECT_EXCEPTION, INJECT_IRQ or INJECT_NESTED_PF_VMEXIT with its
   * vector, or for the nested #PF VM-exit its fault address), just before the guest model receives it:
   * what a step did, as data, for schedulers that count or check injections. Absent: nobody listens.
   */
  injected?: (vcpu: KvmVcpu, kind: InjectKind, vector: number) => void;
  /**
   * kvm_arch_async_page_present sent a page-ready (wrote the token and raised the interrupt, or ≤5.7
   * queued the #PF): its token, what the slot held just before the write (0 for the #PF form), and whether
   * 2a18b7e7cd88's filter allows it (a wakeup-all, or a work whose 'not present' was injected). What the
   * step did, as data, for the explorer's checks. Absent: nobody listens, and nothing is read for it.
   */
  pageReadySent?: (vcpu: KvmVcpu, token: number, slotBefore: number, notify: boolean) => void;
  /**
   * The fault's host lookup took a NUMA-hinting fault on `gfn` (do_numa_page: the PROT_NONE PTE is
   * restored). The kernel migrates a misplaced page right there; a scheduler that models placement runs
   * the `migrate` host memory operation from this hook. Absent: nothing migrates.
   */
  numaHintingFault?: (vcpu: KvmVcpu, gfn: number) => void;
  /** The notifier tracepoints (mmu_notifier.ts TP_KVM_*; start and end are host virtual addresses). */
  mmuTrace?: ((tp: number, start: number, end: number) => void) | null;
  /**
   * The memory-cache model (config.mmu_caches) reports an event: MC_EV_* (mmu_caches_vm.ts; 0 = a WARN,
   * which also goes to `warn`) with the kernel's message. Absent: nobody listens.
   */
  memcacheEvent?: (vcpu: KvmVcpu, ev: number, what: string) => void;
  /** KVM_RUN returned an error (a negative errno) to the VMM on this vCPU. */
  kvmRunError?: (vcpu: KvmVcpu, errno: number) => void;
}

export const INJECT_EXCEPTION = 1;
export const INJECT_IRQ = 2;
export const INJECT_NESTED_PF_VMEXIT = 3;
export type InjectKind = typeof INJECT_EXCEPTION | typeof INJECT_IRQ | typeof INJECT_NESTED_PF_VMEXIT;

/**
 * The guest model: it receives injected events at VM entry and executes guest instructions one at a
 * time (`step`), calling the host's exit handlers (kvm_emulate_wrmsr, kvm_mmu_do_page_fault, …) where
 * the real instruction would exit.
 */
export interface GuestModel {
  /**
   * Execute one guest instruction on `vcpu` (after VM entry). Returns false when the guest has nothing
   * to do (an idle vCPU with no work: stepping it again changes nothing until an event arrives).
   */
  step(vcpu: KvmVcpu): boolean;
  /** An exception is delivered (IDT vectoring); for #PF, `cr2` is already in vcpu.cr2. */
  deliverException(vcpu: KvmVcpu, vector: number, errorCode: number): void;
  /** An external interrupt from the LAPIC is delivered. */
  deliverInterrupt(vcpu: KvmVcpu, vector: number): void;
  /** A #PF VM-exit from L2 to L1 with the token as fault address (nested APF). */
  deliverNestedPfVmexit(vcpu: KvmVcpu, faultAddress: number): void;
  /** INIT reached the vCPU (init_sipi.ts): the guest CPU's context is gone; the host has reset the vCPU. */
  onInit(vcpu: KvmVcpu): void;
  /** SIPI: the CPU starts at the guest's startup trampoline. */
  onSipi(vcpu: KvmVcpu): void;
}

export interface KvmVm {
  readonly era: EraConfig;
  readonly config: VmConfig;
  readonly mem: GuestMemory;
  readonly vcpus: KvmVcpu[];
  hooks: HostHooks;
  guest: GuestModel;
  /** Host virtual address of guest RAM (for the `address` field of kvm_async_pf_completed). */
  readonly hva_base: number;
  /** The notifier state (mmu_invalidate_seq …); used when config.mmu_notifiers. */
  readonly mmu: KvmMmuNotifier;
  /** The view of this VM that the notifier callbacks take. */
  readonly mmuHost: MmuHost;
  /** Host memory operations in flight (primary_mmu.ts). */
  readonly mm: HostMm;
  /** What the current (or last) run step did, written as it happens (step_effects.ts). */
  readonly effects: StepEffects;
  /** The memory-cache model (config.mmu_caches), or null. */
  readonly memcache: MmuCachesVm | null;
  /** The guest mapping API's state, when config.host_maps asks for it. */
  readonly hostMaps: HostMaps | null;
  /** kvm->arch.wall_clock (pv_state.ts). */
  readonly pv: KvmVmPv;
}

export const nullHooks = (): HostHooks => ({ asyncWorkQueued() {}, syncFault() {}, kick() {}, trace: null });

const nullGuest: GuestModel = {
  step: () => false,
  deliverException() {},
  deliverInterrupt() {},
  deliverNestedPfVmexit() {},
  onInit() {},
  onSipi() {},
};

export function createVm(era: EraConfig, config: VmConfig, hooks: HostHooks = nullHooks()): KvmVm {
  const vcpus: KvmVcpu[] = [];
  for (let i = 0; i < config.vcpus; i++) vcpus.push(newVcpu(i));
  const mem = new GuestMemory(config.memory);
  const mmu = newMmuNotifier(config.mmu_seq_start ?? 0);
  const vm: KvmVm = {
    era,
    config,
    mem,
    vcpus,
    hooks,
    guest: nullGuest,
    hva_base: HVA_BASE,
    mmu,
    mm: new HostMm(),
    mmuHost: new VmMmuHost(mmu, era, mem, () => vm),
    effects: new StepEffects(),
    memcache: null,
    hostMaps: config.host_maps ? newHostMaps(era, config, config.host_maps, mem) : null,
    pv: { wall_clock: 0n },
  };
  // kvm_arch_vcpu_postcreate: "poll control enabled by default" where MSR_KVM_POLL_CONTROL exists.
  if (era.hasPollControl) for (const v of vcpus) v.pv.msr_kvm_poll_control = 1n;
  if (config.mmu_caches && config.mmu_notifiers) {
    const m = newMmuCachesVm(era, config.vcpus, mem.npages, !config.tdp);
    m.event = (v, ev, what) => {
      const vcpu = vm.vcpus[v]!;
      if (ev === 0) vm.hooks.warn?.(vcpu, what);
      vm.hooks.memcacheEvent?.(vcpu, ev, what);
    };
    (vm as { memcache: MmuCachesVm | null }).memcache = m;
  }
  return vm;
}

function newHostMaps(era: EraConfig, config: VmConfig, c: HostMapsConfig, mem: GuestMemory): HostMaps {
  const form = hostMapEra(era.name);
  if (form === null) throw new RangeError(`kvm_vcpu_map does not exist in era ${era.name} (5.2+)`);
  return new HostMaps(form, mem.npages, config.vcpus, c, mem.pageState);
}

/**
 * The VM's view for the MMU-notifier model (MmuHost). A class, not an object literal: a literal with a
 * getter and a method is kept in V8's dictionary mode, which made each `vm.mmuHost.*` read on the fault
 * path a hash lookup.
 */
class VmMmuHost implements MmuHost {
  readonly mmuEra: MmuBehaviour;
  readonly pages: PageStates;
  readonly npages: number;
  readonly hvaBase = HVA_BASE;
  thp: KvmHugepages | null = null;
  zapSource: Uint8Array | null = null;
  zapOp = 0;
  onLock: ((sptes: number) => void) | null = null;
  readonly kfn: X86KernelFns | null;

  constructor(
    readonly mmu: KvmMmuNotifier,
    era: EraConfig,
    mem: GuestMemory,
    private readonly vmOf: () => KvmVm,
  ) {
    this.mmuEra = era.mmu;
    this.pages = mem.pageState;
    this.npages = mem.npages;
    this.kfn = era.kfn;
  }

  get mmuTrace(): ((tp: number, start: number, end: number) => void) | null {
    return this.vmOf().hooks.mmuTrace ?? null;
  }

  mmuWarn(message: string): void {
    const vm = this.vmOf();
    vm.hooks.warn?.(vm.vcpus[0]!, message);
  }
}

/** Where the VMM mapped guest RAM in its address space. */
const HVA_BASE = 0x7f0000000000;

/** @kernel lapic_in_kernel */
export const lapic_in_kernel = (vm: KvmVm): boolean => vm.config.irqchip;

/**
 * @kernel kvm_vcpu_kick: an IPI forces a vCPU that is in guest mode out, so it sees new requests at its
 * next entry. A vCPU outside guest mode needs none; a blocked one is woken by __kvm_vcpu_wake_up.
 */
export function kvm_vcpu_kick(vm: KvmVm, vcpu: KvmVcpu): void {
  if (vcpu.mode === IN_GUEST_MODE) vcpu.mode = EXITING_GUEST_MODE;
  vcpu.stat.kicks++;
  vm.hooks.kick(vcpu);
}
