// The explorer's steps over an explore world, each applied through the x86 step vocabulary (applyX86Step,
// src/host/x86/steps.ts) so it runs the real host and guest code:
// - run v: the `run` step (kvm_vcpu_run_step: wakeup, requests, one injection, one guest instruction);
// - work v k: async_pf_execute for the k-th pending work of vCPU v in token order (so completion order
//   and timing are free: any pending work may complete at any point);
// - sync v: kvm_sync_fault_done (a synchronous fault-in returns);
// - drain v (present-queued-barrier only): the vCPU's buffered store becomes visible (kvm_drain_store_buffer);
// - environment steps, each bounded by its budget: en_rewrite, svr_toggle, smi, init (+ init_deliver for
//   the Linux hotplug cycle), evict.
import { APIC_SPIV } from '../../abi/apicdef.ts';
import { MSR_KVM_ASYNC_PF_EN } from '../../abi/kvm_para.ts';
import { WORK_POOL_SIZE } from '../../host/x86/async_pf_work.ts';
import { pendingSlots } from '../../host/x86/codec.ts';
import { kvm_apic_sw_enabled } from '../../host/x86/lapic.ts';
import { host_alloc_pressure, NO_PRESSURE } from '../../host/x86/page_alloc.ts';
import {
  HOST_MM_OPS,
  host_mm_can_step,
  host_mm_free,
  MM_COW,
  MM_MEMSLOT_REMAP,
  MM_MPROTECT_RW,
  MM_RECLAIM,
} from '../../host/x86/primary_mmu.ts';
import { kvm_vcpu_can_step } from '../../host/x86/run_loop.ts';
import { applyX86Step } from '../../host/x86/steps.ts';
import { IN_GUEST_MODE } from '../../host/x86/vcpu.ts';
import { lapic_in_kernel } from '../../host/x86/vm.ts';
import { gfnToGpa } from '../../mem/guest_memory.ts';
import { PAGE_HOST_RESIDENT, PAGE_HOST_RO, PAGE_KSM } from '../../mem/page_state.ts';
import { vmStopped } from './checks.ts';
import { ENV_KINDS, type EnvKind } from './config.ts';
import { hex } from './guest_adapter.ts';
import type { StepDesc } from './layout.ts';
import { LinuxAdapter } from './linux_adapter.ts';
import { mapStepApply, mapStepEnabled, mapStepLabel } from './map_actor.ts';
import { inFirmwareSmm, type X86World } from './world.ts';

const pendScratch = new Int32Array(WORK_POOL_SIZE);
const envIndex = (k: EnvKind): number => ENV_KINDS.indexOf(k);

/** Whether step `s` can run in world `w`. */
export function stepEnabled(w: X86World, s: StepDesc): boolean {
  const l = w.layout;
  // The memory-cache model: a BUG killed the host, or KVM_RUN failed and the VMM stopped the VM (QEMU's
  // vm_stop on a KVM_RUN error): nothing moves any more.
  if (w.vm.memcache !== null && vmStopped(w.vm)) return false;
  switch (s.kind) {
    case 'alloc_fail':
      return w.allocFailBudget > 0 && w.vm.memcache!.alloc.grant === NO_PRESSURE;
    case 'evict': {
      if (w.env[envIndex('evict')]! <= 0) return false;
      const gfn = l.pages[s.v]!;
      if ((w.vm.mem.pageState[gfn]! & PAGE_HOST_RESIDENT) === 0) return false;
      return l.cfg.mmu?.split_fault !== true || host_mm_free(w.vm);
    }
    case 'mm_begin':
      return w.mmBudget > 0 && host_mm_free(w.vm) && mmOpApplies(w, s.k, l.mmPages[s.v]!);
    case 'mm_step':
      return host_mm_can_step(w.vm, s.v);
    case 'fault_lock':
      return w.vcpu(s.v).mmu_fault_gfn >= 0;
    case 'map_map':
    case 'map_write':
    case 'map_unmap':
      return mapStepEnabled(w.vm, w.maps!, s.kind, s.v);
    default:
      break;
  }
  const vcpu = w.vcpu(s.v);
  switch (s.kind) {
    case 'run':
      return !w.guest.dead() && kvm_vcpu_can_step(w.vm, vcpu);
    case 'work':
      return s.k < pendingSlots(vcpu.async_pf, pendScratch);
    case 'sync':
      return vcpu.sync_fault_gfn >= 0;
    case 'drain':
      return vcpu.apf.pageready_pending_store_buffered;
    case 'init_deliver':
      return w.hotplug[s.v] === 1 && w.guest instanceof LinuxAdapter && w.guest.parked(s.v);
    default:
      break;
  }
  // Environment steps act on a vCPU whose thread is not stuck in the host (a blocking fault-in), outside
  // the environment's own SMM and hotplug cycle.
  if (w.env[envIndex(s.kind)]! <= 0) return false;
  if (vcpu.sync_fault_gfn >= 0 || vcpu.mmu_fault_gfn >= 0 || inFirmwareSmm(vcpu) || w.hotplug[s.v] !== 0)
    return false;
  switch (s.kind) {
    case 'en_rewrite':
      return true;
    case 'svr_toggle':
      // A guest instruction: only while the vCPU executes guest code.
      return lapic_in_kernel(w.vm) && vcpu.mode === IN_GUEST_MODE;
    case 'smi':
      return !vcpu.exception.pending && !vcpu.exception.injected;
    case 'init':
      return true;
    default:
      return false;
  }
}

/** Runs step `s` on `w` (enabled): budgets here, the step itself through the x86 step vocabulary. */
export function applyStep(w: X86World, s: StepDesc): void {
  const vm = w.vm;
  switch (s.kind) {
    case 'evict': {
      w.env[envIndex('evict')]!--;
      const gfn = w.layout.pages[s.v]!;
      // The next access needs I/O. With split steps, the reclaim's notifier window is interleavable.
      if (w.layout.cfg.mmu?.split_fault)
        applyX86Step(vm, { kind: 'host_mm_begin', op: MM_RECLAIM, start: gfn, end: gfn + 1 });
      else applyX86Step(vm, { kind: 'host_reclaim', gfn });
      return;
    }
    case 'mm_begin': {
      w.mmBudget--;
      const gfn = w.layout.mmPages[s.v]!;
      const page = gfn + vm.mmu.slot_base; // the page's host address now
      applyX86Step(vm, { kind: 'host_mm_begin', op: s.k, start: page, end: page + 1 });
      return;
    }
    case 'mm_step':
      applyX86Step(vm, { kind: 'host_mm_step', thread: s.v });
      return;
    case 'fault_lock':
      applyX86Step(vm, { kind: 'fault_lock', vcpu: s.v });
      return;
    case 'alloc_fail': {
      w.allocFailBudget--;
      const a = w.layout.cfg.mmu!.alloc_fail!;
      host_alloc_pressure(vm.memcache!.alloc, a.after, a.fails);
      return;
    }
    case 'map_map':
    case 'map_write':
    case 'map_unmap':
      mapStepApply(vm, w.maps!, s.kind, s.v, s.k);
      return;
    default:
      break;
  }
  const vcpu = s.v;
  switch (s.kind) {
    case 'run':
      w.guest.beforeRun(w.vcpu(vcpu));
      applyX86Step(vm, { kind: 'run', vcpu });
      return;
    case 'work': {
      pendingSlots(w.vcpu(vcpu).async_pf, pendScratch);
      applyX86Step(vm, { kind: 'work', vcpu, slot: pendScratch[s.k]! });
      return;
    }
    case 'sync':
      applyX86Step(vm, { kind: 'sync_done', vcpu });
      return;
    case 'drain':
      applyX86Step(vm, { kind: 'drain', vcpu });
      return;
    case 'en_rewrite':
      // The VMM's KVM_SET_MSRS runs on the vCPU thread outside KVM_RUN: the vCPU exits first.
      w.env[envIndex('en_rewrite')]!--;
      applyX86Step(vm, {
        kind: 'host_set_msr',
        vcpu,
        msr: MSR_KVM_ASYNC_PF_EN,
        value: w.vcpu(vcpu).apf.msr_en_val,
        exit: true,
      });
      return;
    case 'svr_toggle':
      w.env[envIndex('svr_toggle')]!--;
      applyX86Step(vm, {
        kind: 'lapic_write',
        vcpu,
        reg: APIC_SPIV,
        value: kvm_apic_sw_enabled(w.vcpu(vcpu).apic) ? 0xff : 0x1ff,
      });
      return;
    case 'smi':
      w.env[envIndex('smi')]!--;
      applyX86Step(vm, { kind: 'smi', vcpu }); // the vCPU's next run step is the firmware handler's RSM
      return;
    case 'init':
      w.env[envIndex('init')]!--;
      w.guest.initCpu(w.vcpu(vcpu));
      if (w.guest instanceof LinuxAdapter) w.hotplug[vcpu] = 1;
      return;
    case 'init_deliver':
      // INIT + SIPI of the parked CPU; the trampoline turns paging back on before the online callbacks.
      applyX86Step(vm, { kind: 'init', vcpu });
      applyX86Step(vm, { kind: 'sipi', vcpu });
      w.hotplug[vcpu] = 0;
      return;
    default:
      throw new Error(`unknown step kind ${String((s as StepDesc).kind)}`);
  }
}

/** A label for step `s` taken from world `w` (before it runs). */
export function stepLabel(w: X86World, s: StepDesc): string {
  switch (s.kind) {
    case 'evict':
      return `env: host evicts page ${hex(gfnToGpa(w.layout.pages[s.v]!))}`;
    case 'mm_begin':
      return s.k === MM_MEMSLOT_REMAP
        ? 'env: the VMM moves guest RAM to another host address (memslot update) begins'
        : `env: host ${HOST_MM_OPS[s.k]} of page ${hex(gfnToGpa(w.layout.mmPages[s.v]!))} begins`;
    case 'mm_step': {
      const mm = w.vm.mm;
      const part = ['idle', 'invalidate_range_start', 'PTE change', 'invalidate_range_end', 'seq++ visible'][
        mm.phase[s.v]!
      ];
      return `host mm thread ${s.v}: ${HOST_MM_OPS[mm.op[s.v]!]} of page ${hex(gfnToGpa(mm.start[s.v]!))}: ${part}`;
    }
    case 'fault_lock': {
      const v = w.vcpu(s.v);
      return `vcpu${s.v} fault gfn ${hex(v.mmu_fault_gfn)}: mmu_lock, is_page_fault_stale, install`;
    }
    case 'alloc_fail': {
      const a = w.layout.cfg.mmu!.alloc_fail!;
      return `env: host memory pressure: ${a.after} more allocations succeed, then ${a.fails < 0 ? 'every one' : a.fails} fail${a.fails === 1 ? 's' : ''}`;
    }
    case 'map_map':
    case 'map_write':
    case 'map_unmap':
      return mapStepLabel(w.vm, w.maps!, s.kind, s.v, s.k);
    default:
      break;
  }
  const vcpu = w.vcpu(s.v);
  switch (s.kind) {
    case 'run': {
      const entry = vcpu.mode !== IN_GUEST_MODE ? ' (entry)' : '';
      return `vcpu${s.v} run${entry}: ${inFirmwareSmm(vcpu) ? 'rsm' : w.guest.nextAction(vcpu)}`;
    }
    case 'work': {
      const n = pendingSlots(vcpu.async_pf, pendScratch);
      if (s.k >= n) return `worker vcpu${s.v} #${s.k}`;
      const slot = pendScratch[s.k]!;
      return `worker: async_pf_execute vcpu${s.v} token ${hex(vcpu.async_pf.wToken[slot]!)} gfn ${hex(vcpu.async_pf.wGfn[slot]!)}`;
    }
    case 'sync':
      return `host: synchronous fault-in done vcpu${s.v} gfn ${hex(vcpu.sync_fault_gfn)}`;
    case 'drain':
      return `vcpu${s.v}: store buffer drains (pageready_pending = false visible)`;
    case 'en_rewrite':
      return `env: VMM rewrites MSR_KVM_ASYNC_PF_EN = ${`0x${vcpu.apf.msr_en_val.toString(16)}`} on vcpu${s.v}`;
    case 'svr_toggle':
      return `env: vcpu${s.v} guest writes SVR = ${kvm_apic_sw_enabled(vcpu.apic) ? '0xff (LAPIC off)' : '0x1ff (LAPIC on)'}`;
    case 'smi':
      return `env: SMI on vcpu${s.v} (CR0.PG := 0)`;
    case 'init':
      return w.guest instanceof LinuxAdapter
        ? `env: cpu${s.v} hotplug: offline requested`
        : `env: INIT vcpu${s.v}`;
    case 'init_deliver':
      return `env: INIT + SIPI vcpu${s.v}, cpu online requested`;
    default:
      return s.kind;
  }
}

/** Whether host operation `op` does something to `gfn` now (KSM and migration need a resident page …). */
function mmOpApplies(w: X86World, op: number, gfn: number): boolean {
  const st = w.vm.mem.pageState[gfn]!;
  if (op === MM_MEMSLOT_REMAP) return true;
  if (op === MM_COW) return (st & (PAGE_KSM | PAGE_HOST_RO)) !== 0;
  if (op === MM_MPROTECT_RW) return (st & PAGE_HOST_RO) !== 0;
  return (st & PAGE_HOST_RESIDENT) !== 0;
}
