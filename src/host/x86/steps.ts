// Every way the modelled x86 world can move, as one discriminated union of steps, and the one function that
// runs a step through the model. The script runners, the simulator and the explorer are schedulers over
// these steps: they decide which step runs next (ops in order, virtual time, every interleaving), never
// what a step does. Each step is the kernel's atomic unit:
//
// - `run`: one vcpu_run iteration (run_loop.ts): wake from vcpu_block, requests, one injection, one guest
//   instruction and its exit;
// - `work`: the async worker async_pf_execute for one work slot (the scheduler has checked its generation);
// - `sync_done`: a synchronous fault-in's blocking GUP returns;
// - `drain`: the vCPU's buffered store becomes visible (only the present-queued-barrier bug buffers one);
// - `smi` / `rsm`: an SMI (SMM entry; its firmware handler ends in RSM, which is the vCPU's next `run`
//   step) and a RSM taken at once, for schedulers that run the whole SMI before their next op (smm.ts);
// - `init` / `sipi`: INIT and SIPI as the local APIC accepts them (init_sipi.ts);
// - `host_set_msr`: the VMM's KVM_SET_MSRS of one MSR; `exit` when the vCPU was inside KVM_RUN and must
//   leave it first (a VM exit);
// - `lapic_write`: a guest write to a LAPIC register (an APIC-access exit), from outside the guest model;
// - `lapic_irq`: a fixed interrupt arrives at the vCPU's LAPIC from outside (a timer tick, another CPU's
//   IPI): accepted into IRR unless the LAPIC is software-disabled, then the vCPU is kicked;
// - `host_reclaim`: the host reclaims the page behind a gfn (page_state.ts; with the MMU notifiers, the
//   `reclaim` host memory operation run whole);
// - `fault_lock`: a split fault's part under mmu_lock: is_page_fault_stale, then the SPTE install or a
//   retry (mmu_install.ts);
// - `host_mm`: a host memory operation (primary_mmu.ts) run whole, on slot pages [start, end);
// - `host_mm_begin` / `host_mm_step`: the same operation started, then advanced one part at a time
//   (invalidate_range_start, the PTE change with its change_pte, invalidate_range_end), so a scheduler
//   can interleave faults inside its window;
// - `host_age`: an aging callback (clear_flush_young, clear_young or test_young) over slot pages;
// - `ksm_stable`: KSM makes a write-protected page the KSM page itself (the first page of a new stable
//   node keeps its frame; no PTE change, no notifier), slot page `start`.
//
// What is not here belongs to a guest model, not to KVM: a Linux CPU-offline request is the guest kernel's
// hotplug code (LinuxGuest.requestCpuOffline), which the schedulers pass on.
//
// Steps address vCPUs by index. applyX86Step returns a number: the VcpuStepResult for `run`, the answer
// for `host_set_msr` (1 processed, 0 rejected), whether the page was resident for `host_reclaim`, whether
// the LAPIC accepted it for `lapic_irq`, the RET_PF_* for `fault_lock`, the thread for `host_mm_begin`
// (-1: all busy), the young answer for `host_age`, else 0.

import { host_page_evict, PAGE_HOST_RESIDENT } from '../../mem/page_state.ts';
import { async_pf_execute } from './async_pf.ts';
import { deliverInit, deliverSipi } from './init_sipi.ts';
import { kvm_apic_accept_irq } from './lapic.ts';
import { kvm_sync_fault_done } from './mmu_fault.ts';
import { kvm_mmu_fault_locked } from './mmu_install.ts';
import { type AgeKind, kvm_mmu_notifier_age } from './mmu_notifier.ts';
import { host_mm_begin, host_mm_run, host_mm_step, ksm_page_stable, MM_RECLAIM } from './primary_mmu.ts';
import { kvm_vcpu_run_step } from './run_loop.ts';
import { emulator_leave_smm, enter_smm } from './smm.ts';
import { type KvmVm, kvm_vcpu_kick } from './vm.ts';
import { kvm_drain_store_buffer, kvm_lapic_write, kvm_set_msr_host_initiated, kvm_vmexit } from './x86.ts';

export type X86Step =
  | { readonly kind: 'run'; readonly vcpu: number }
  | { readonly kind: 'work'; readonly vcpu: number; readonly slot: number }
  | { readonly kind: 'sync_done'; readonly vcpu: number }
  | { readonly kind: 'drain'; readonly vcpu: number }
  | { readonly kind: 'smi'; readonly vcpu: number }
  | { readonly kind: 'rsm'; readonly vcpu: number }
  | { readonly kind: 'init'; readonly vcpu: number }
  | { readonly kind: 'sipi'; readonly vcpu: number }
  | {
      readonly kind: 'host_set_msr';
      readonly vcpu: number;
      readonly msr: number;
      readonly value: bigint;
      readonly exit: boolean;
    }
  | { readonly kind: 'lapic_write'; readonly vcpu: number; readonly reg: number; readonly value: number }
  | { readonly kind: 'lapic_irq'; readonly vcpu: number; readonly vector: number }
  | { readonly kind: 'host_reclaim'; readonly gfn: number }
  | { readonly kind: 'fault_lock'; readonly vcpu: number }
  | { readonly kind: 'host_mm'; readonly op: number; readonly start: number; readonly end: number }
  | { readonly kind: 'host_mm_begin'; readonly op: number; readonly start: number; readonly end: number }
  | { readonly kind: 'host_mm_step'; readonly thread: number }
  | { readonly kind: 'host_age'; readonly age: AgeKind; readonly start: number; readonly end: number }
  | { readonly kind: 'ksm_stable'; readonly start: number };

export type X86StepKind = X86Step['kind'];

/** Runs `step` on `vm` through the model; the scheduler has checked that it is enabled. */
export function applyX86Step(vm: KvmVm, step: X86Step): number {
  switch (step.kind) {
    case 'run':
      return kvm_vcpu_run_step(vm, vm.vcpus[step.vcpu]!);
    case 'work':
      async_pf_execute(vm, vm.vcpus[step.vcpu]!, step.slot);
      return 0;
    case 'sync_done':
      kvm_sync_fault_done(vm, vm.vcpus[step.vcpu]!);
      return 0;
    case 'drain':
      kvm_drain_store_buffer(vm.vcpus[step.vcpu]!);
      return 0;
    case 'smi':
      enter_smm(vm, vm.vcpus[step.vcpu]!, true);
      return 0;
    case 'rsm':
      emulator_leave_smm(vm, vm.vcpus[step.vcpu]!);
      return 0;
    case 'init':
      deliverInit(vm, vm.vcpus[step.vcpu]!);
      return 0;
    case 'sipi':
      deliverSipi(vm, vm.vcpus[step.vcpu]!);
      return 0;
    case 'host_set_msr': {
      const vcpu = vm.vcpus[step.vcpu]!;
      if (step.exit) kvm_vmexit(vcpu);
      return kvm_set_msr_host_initiated(vm, vcpu, step.msr, step.value) ? 1 : 0;
    }
    case 'lapic_write':
      kvm_lapic_write(vm, vm.vcpus[step.vcpu]!, step.reg, step.value);
      return 0;
    case 'lapic_irq': {
      const vcpu = vm.vcpus[step.vcpu]!;
      if (!kvm_apic_accept_irq(vm, vcpu, step.vector)) return 0;
      kvm_vcpu_kick(vm, vcpu);
      return 1;
    }
    case 'host_reclaim': {
      if (step.gfn >= vm.mem.npages) return 0;
      if (!vm.config.mmu_notifiers) return host_page_evict(vm.mem.pageState, step.gfn) ? 1 : 0;
      const was = (vm.mem.pageState[step.gfn]! & PAGE_HOST_RESIDENT) !== 0;
      host_mm_run(vm, MM_RECLAIM, step.gfn, step.gfn + 1);
      return was ? 1 : 0;
    }
    case 'fault_lock': {
      const vcpu = vm.vcpus[step.vcpu]!;
      return kvm_mmu_fault_locked(vm, vcpu, vcpu.mmu_fault_gfn);
    }
    case 'host_mm':
      host_mm_run(vm, step.op, step.start, step.end);
      return 0;
    case 'host_mm_begin':
      return host_mm_begin(vm, step.op, step.start, step.end);
    case 'host_mm_step':
      host_mm_step(vm, step.thread);
      return 0;
    case 'host_age':
      return kvm_mmu_notifier_age(vm.mmuHost, step.age, step.start, step.end);
    case 'ksm_stable':
      ksm_page_stable(vm, step.start);
      return 0;
  }
}
