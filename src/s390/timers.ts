// hrtimers as state. A timer is an absolute expiry (ns, -1 = inactive) plus the sequence number it was armed
// with; nothing fires by itself. A scheduler (the script's `advance`, a DES, an explorer) picks a due timer
// and runs its callback through steps.ts. (expiry, seq) is a total order, so equal deadlines are deterministic.
import type { S390World, VcpuState, VmState } from './world.ts';

/** hrtimer_start(&gi->timer, delay, HRTIMER_MODE_REL). */
export function startKicker(w: S390World, vm: VmState, delay: number): void {
  vm.gi.timer_at = w.now + delay;
  vm.gi.timer_seq = ++w.seq;
}

/** hrtimer_cancel(&gi->timer): the model runs callbacks atomically, so there is never one to wait for. */
export function cancelKicker(vm: VmState): void {
  vm.gi.timer_at = -1;
}

export const kickerActive = (vm: VmState): boolean => vm.gi.timer_at >= 0;

/** hrtimer_forward_now(timer, interval) on a firing timer, then HRTIMER_RESTART. */
export function forwardKicker(w: S390World, vm: VmState, interval: number, firedAt: number): void {
  let at = firedAt;
  do at += interval;
  while (at <= w.now);
  vm.gi.timer_at = at;
  vm.gi.timer_seq = ++w.seq;
}

/** hrtimer_start(&vcpu->arch.ckc_timer, sltime, HRTIMER_MODE_REL). */
export function startCkc(w: S390World, v: VcpuState, delay: number): void {
  v.ckc_timer_at = w.now + delay;
  v.ckc_timer_seq = ++w.seq;
}

export function cancelCkc(v: VcpuState): void {
  v.ckc_timer_at = -1;
}

export type TimerRef = { kind: 'kicker'; vm: number } | { kind: 'ckc'; vm: number; vcpu: number };
export interface ArmedTimer {
  ref: TimerRef;
  at: number;
  seq: number;
}

/** Every armed timer, ordered by (expiry, seq). */
export function armedTimers(w: S390World): ArmedTimer[] {
  const out: ArmedTimer[] = [];
  for (const vm of w.vms) {
    if (vm.gi.timer_at >= 0)
      out.push({ ref: { kind: 'kicker', vm: vm.index }, at: vm.gi.timer_at, seq: vm.gi.timer_seq });
    for (const v of vm.vcpus)
      if (v.ckc_timer_at >= 0)
        out.push({
          ref: { kind: 'ckc', vm: vm.index, vcpu: v.vcpu_idx },
          at: v.ckc_timer_at,
          seq: v.ckc_timer_seq,
        });
  }
  return out.sort((a, b) => a.at - b.at || a.seq - b.seq);
}

/** The next timer a discrete-event scheduler should fire, if any. */
export const earliestTimer = (w: S390World): ArmedTimer | undefined => armedTimers(w)[0];
