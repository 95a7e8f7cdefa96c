// The page-in path: a page the host model needs from swap (an async worker's page-in, a synchronous
// fault-in, or a prefault that found its page evicted again) becomes a request; requests for a page whose
// I/O is already in flight join it, the others go to the swap device (swap_device.ts) or its queue. When
// the device finishes a page, every request on it completes: the `work` step (async_pf_execute) for a
// worker, the `sync_done` step (kvm_sync_fault_done) for a synchronous fault, and the waiting vCPU may wake (wake.ts).
//
// Requests are a pool of typed-array records on the SimState (rKind … rChannel, free list through rNext).
import { W_NOTPRESENT_INJECTED, workPending } from '../host/x86/async_pf_work.ts';
import type { StepEffects } from '../host/x86/step_effects.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import type { KvmVcpu } from '../host/x86/vcpu.ts';
import { PAGE_HOST_RESIDENT } from '../mem/page_state.ts';
import { K_IO, K_PREFAULT_SYNC, NCOUNT } from './counters.ts';
import { EV_SWAP, type SimState } from './sim_state.ts';
import type { SimVm } from './sim_vm.ts';
import { TF_INJECTED, TF_SLOT_BUSY } from './token_table.ts';
import { maybeWake } from './wake.ts';

/** Page-in request kinds. */
export const R_ASYNC = 0;
export const R_SYNC = 1;
export const R_PREFAULT = 2;

function allocReq(s: SimState): number {
  if (s.rFree >= 0) {
    const r = s.rFree;
    s.rFree = s.rNext[r]!;
    return r;
  }
  if (s.rCount === s.rKind.length) growReqs(s);
  return s.rCount++;
}

function growReqs(s: SimState): void {
  const n = s.rKind.length * 2;
  const grow = <T extends Uint8Array | Int32Array | Uint32Array | Float64Array>(a: T): T => {
    const b = new (a.constructor as new (n: number) => T)(n);
    b.set(a);
    return b;
  };
  s.rKind = grow(s.rKind);
  s.rVcpu = grow(s.rVcpu);
  s.rSlot = grow(s.rSlot);
  s.rGen = grow(s.rGen);
  s.rGfn = grow(s.rGfn);
  s.rNext = grow(s.rNext);
  s.rSubmit = grow(s.rSubmit);
  s.rStart = grow(s.rStart);
  s.rChannel = grow(s.rChannel);
}

/** A page-in for vCPU g's VM: join the I/O already in flight for that page, or go to the device. */
export function submit(s: SimState, kind: number, g: number, slot: number, gen: number, gfn: number): void {
  const r = allocReq(s);
  s.rKind[r] = kind;
  s.rVcpu[r] = g;
  s.rSlot[r] = slot;
  s.rGen[r] = gen;
  s.rGfn[r] = gfn;
  s.rSubmit[r] = s.now;
  s.rChannel[r] = -1;
  s.faults++;
  const vmIdx = s.vcpuVm[g]!;
  s.count[vmIdx * NCOUNT + K_IO]!++;
  const page = s.vmPageBase[vmIdx]! + gfn;
  const owner = s.inflight.get(page);
  if (owner !== undefined) {
    s.rNext[r] = s.rNext[owner]!;
    s.rNext[owner] = r;
    return;
  }
  s.rNext[r] = -1;
  s.inflight.set(page, r);
  if (s.swap.canStart()) startIo(s, r);
  else {
    s.swap.enqueue(s.now, r);
    s.tracer?.swapDepth(s, s.now);
  }
}

function startIo(s: SimState, r: number): void {
  const now = s.now;
  s.rChannel[r] = s.swap.start(now);
  s.rStart[r] = now;
  s.swapWait.record(now - s.rSubmit[r]!);
  const service = s.swap.serviceTime();
  s.swapService.record(service);
  s.heap.push(now + service, (r << 2) | EV_SWAP);
  s.tracer?.swapDepth(s, now);
}

/** The device finished request r's page: complete it and every request that joined it. */
export function ioDone(s: SimState, r: number): void {
  const now = s.now;
  s.swap.release(now, s.rChannel[r]!);
  const g0 = s.rVcpu[r]!;
  const gfn0 = s.rGfn[r]!;
  const vm0 = s.vcpuVm[g0]!;
  s.inflight.delete(s.vmPageBase[vm0]! + gfn0);
  s.tracer?.io(s, vm0, gfn0, s.rChannel[r]!, s.rSubmit[r]!, s.rStart[r]!, now);
  const next = s.swap.dequeue(now);
  if (next >= 0) startIo(s, next);
  else s.tracer?.swapDepth(s, now);
  for (let q = r; q >= 0; ) {
    const after = s.rNext[q]!;
    complete(s, q);
    s.rNext[q] = s.rFree;
    s.rFree = q;
    q = after;
  }
}

function complete(s: SimState, r: number): void {
  const g = s.rVcpu[r]!;
  const vmIdx = s.vcpuVm[g]!;
  const sv = s.vms[vmIdx]!;
  const vm = sv.vm;
  const vcpu = s.vcpus[g]!;
  const gfn = s.rGfn[r]!;
  const st = vm.mem.pageState;
  switch (s.rKind[r]) {
    case R_ASYNC: {
      const slot = s.rSlot[r]!;
      const w = vcpu.async_pf;
      if (!workPending(w, slot, s.rGen[r]!)) return; // cancelled (queue cleared)
      const was = st[gfn]! & PAGE_HOST_RESIDENT;
      const busy = slotBusy(sv, vcpu);
      const injected = (w.wFlags[slot]! & W_NOTPRESENT_INJECTED) !== 0;
      const token = w.wToken[slot]!;
      applyX86Step(vm, { kind: 'work', vcpu: vcpu.vcpu_id, slot });
      if (was === 0) s.host.pagedIn(vmIdx, gfn);
      s.tokens.add(g, token, s.now, (busy ? TF_SLOT_BUSY : 0) | (injected ? TF_INJECTED : 0));
      s.tracer?.completed(s, g, token, s.now);
      maybeWake(s, g);
      return;
    }
    case R_SYNC: {
      if (vcpu.sync_fault_gfn !== gfn) return;
      const was = st[gfn]! & PAGE_HOST_RESIDENT;
      applyX86Step(vm, { kind: 'sync_done', vcpu: vcpu.vcpu_id });
      if (was === 0) s.host.pagedIn(vmIdx, gfn);
      maybeWake(s, g);
      return;
    }
    default:
      s.waitIo[g]!--;
      maybeWake(s, g);
  }
}

/** Whether vCPU's page-ready slot is still occupied (the guest has not consumed the last one). */
function slotBusy(sv: SimVm, vcpu: KvmVcpu): boolean {
  const data = vcpu.apf.data;
  if (!data.valid || data.page === null) return false;
  // ≥5.8: token@4 must be 0 for the next delivery; ≤5.7: the reason word@0.
  const off = sv.vm.era.pageReady === 'interrupt' ? 4 : 0;
  return data.page.getUint32(data.off + off, true) !== 0;
}

/**
 * After a run step: the prefaults of kvm_arch_async_page_ready that found their page evicted again since
 * its page-in (StepEffects.refaultGfn, recorded by the host as they happened). In the kernel that is a
 * blocking fault-in on the vCPU thread; the host model completes it at once and the simulator charges it
 * as a synchronous page-in.
 */
export function prefaultRefaults(s: SimState, g: number, vmIdx: number, fx: StepEffects): void {
  const n = fx.refaults;
  for (let i = 0; i < n; i++) {
    const gfn = fx.refaultGfn[i]!;
    s.host.pagedIn(vmIdx, gfn);
    s.count[vmIdx * NCOUNT + K_PREFAULT_SYNC]!++;
    s.waitIo[g]!++;
    submit(s, R_PREFAULT, g, -1, 0, gfn);
  }
}
