// Tracepoint bookkeeping and page-ready latency. The host model's tracepoints (HostHooks.trace) are
// counted here; a completed token (page_in.ts adds it to the TokenTable) lives until the guest is told:
// the host's dequeue ends it when nobody sleeps on it in the guest, otherwise the guest's wake of the
// sleeper does (vcpu_step.ts reports that wake). Its lifetime is the page-ready latency; the time from
// completion to dequeue is the done-list wait, and when the page-ready slot was still busy, slot-busy time.
import {
  TP_KVM_ASYNC_PF_NOT_PRESENT,
  TP_KVM_ASYNC_PF_READY,
  TP_KVM_ASYNC_PF_REPEATED_FAULT,
  TP_KVM_TRY_ASYNC_GET_PAGE,
} from '../host/x86/trace.ts';
import {
  K_ASYNC_TRIED,
  K_REPEATED,
  K_SLOT_BUSY,
  K_SLOT_BUSY_NS,
  K_WAKEUP_ALL,
  K_WORKS,
  NCOUNT,
} from './counters.ts';
import type { SimState } from './sim_state.ts';
import { TF_DEQUEUED, TF_INJECTED, TF_SLOT_BUSY } from './token_table.ts';

/** HostHooks.trace: counts, page-ready bookkeeping, and the traces. */
export function onTracepoint(s: SimState, vmIdx: number, g: number, tp: number, a: number, b: number): void {
  const cnt = vmIdx * NCOUNT;
  switch (tp) {
    case TP_KVM_TRY_ASYNC_GET_PAGE:
      s.count[cnt + K_ASYNC_TRIED]!++;
      s.tryFlag[g] = 1;
      break;
    case TP_KVM_ASYNC_PF_REPEATED_FAULT:
      s.count[cnt + K_REPEATED]!++;
      s.tryFlag[g] = 0;
      break;
    case TP_KVM_ASYNC_PF_NOT_PRESENT:
      s.count[cnt + K_WORKS]!++;
      s.tryFlag[g] = 0;
      s.tracer?.notPresent(s, g, a, b, s.now);
      break;
    case TP_KVM_ASYNC_PF_READY:
      if (a === 0xffffffff) s.count[cnt + K_WAKEUP_ALL]!++;
      else dequeued(s, g, vmIdx, a);
      break;
    default:
      break;
  }
  s.tracer?.tracepoint(s, vmIdx, g, tp, a, b, s.now);
}

/** The host dequeued the completion of `token` (kvm_check_async_pf_completion). */
function dequeued(s: SimState, g: number, vmIdx: number, token: number): void {
  const tt = s.tokens;
  const i = tt.find(g, token);
  if (i < 0) return;
  const now = s.now;
  const waited = now - tt.tDone[i]!;
  s.doneWait[vmIdx]!.record(waited);
  const f = tt.flags[i]!;
  if ((f & TF_SLOT_BUSY) !== 0) {
    s.count[vmIdx * NCOUNT + K_SLOT_BUSY]!++;
    s.count[vmIdx * NCOUNT + K_SLOT_BUSY_NS]! += waited;
    if (waited > s.slotBusyMax[vmIdx]!) s.slotBusyMax[vmIdx] = waited;
  }
  if ((f & TF_INJECTED) === 0) {
    // Nobody sleeps on it in the guest: the dequeue itself ends the artificial halt.
    s.pageReady[vmIdx]!.record(waited);
    tt.free(g, i);
    s.tracer?.tokenEnd(s, g, token, now, false);
    return;
  }
  tt.tDeq[i] = now;
  tt.flags[i] = f | TF_DEQUEUED;
}

/** The guest woke the sleeper of `token` (or left a dummy for it): the end of its page-ready latency. */
export function guestWake(s: SimState, g: number, vmIdx: number, token: number): void {
  if (token === 0xffffffff) return;
  const tt = s.tokens;
  const i = tt.find(g, token);
  if (i < 0) return;
  s.pageReady[vmIdx]!.record(s.now - tt.tDone[i]!);
  tt.free(g, i);
  s.tracer?.tokenEnd(s, g, token, s.now, true);
}
