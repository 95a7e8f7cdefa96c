// Control events: the end of warmup (snapshot and reset of the measured statistics), each VM's scheduler
// tick, the tracer's periodic samples, and KSM's scanner waking up. A control event's id is code | arg << 3 (arg: the VM of a tick).
import { RESCHEDULE_VECTOR } from '../guest/x86/linux/scheduler.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import { K_TICKS, NCOUNT } from './counters.ts';
import { EV_CTRL, type SimState } from './sim_state.ts';

const CTRL_WARMUP = 0;
const CTRL_TICK = 1;
const CTRL_SAMPLE = 2;
const CTRL_KSM = 3;

/** Puts the first control events on the heap: end of warmup, each VM's first tick, the first sample. */
export function startControl(s: SimState): void {
  const sc = s.scenario;
  if (sc.warmup > 0) s.heap.push(sc.warmup, (CTRL_WARMUP << 2) | EV_CTRL);
  for (let i = 0; i < s.vms.length; i++)
    if (s.tickPeriod[i]! > 0) s.heap.push(s.tickPeriod[i]!, ((CTRL_TICK | (i << 3)) << 2) | EV_CTRL);
  if (s.tracer) s.heap.push(0, (CTRL_SAMPLE << 2) | EV_CTRL);
  if (s.ksm) s.heap.push(s.ksm.spec.sleep, (CTRL_KSM << 2) | EV_CTRL);
}

/** Runs control event `id` at `s.now`. */
export function control(s: SimState, id: number): void {
  const code = id & 7;
  const arg = id >>> 3;
  if (code === CTRL_WARMUP) {
    s.warmupSnapshot = s.onWarmup?.(s) ?? null;
    s.swap.sync(s.now);
    s.swapAtWarmup = [s.swap.busyArea, s.swap.queueArea, s.swap.started];
    s.swap.maxQueue = s.swap.qLen;
    for (const h of s.pageReady) h.reset();
    for (const h of s.doneWait) h.reset();
    s.swapWait.reset();
    s.swapService.reset();
    s.slotBusyMax.fill(0);
    for (let g = 0; g < s.vcpus.length; g++) s.queuedMax[g] = s.queuedNow[g]!;
  } else if (code === CTRL_TICK) {
    tick(s, arg);
    s.heap.push(s.now + s.tickPeriod[arg]!, ((CTRL_TICK | (arg << 3)) << 2) | EV_CTRL);
  } else if (code === CTRL_KSM) {
    // ksmd: a batch of pages_to_scan pages, then sleep_millisecs.
    s.ksm!.scan();
    s.heap.push(s.now + s.ksm!.spec.sleep, (CTRL_KSM << 2) | EV_CTRL);
  } else {
    s.tracer?.sample(s, s.now);
    s.heap.push(s.now + s.tracer!.samplePeriod, (CTRL_SAMPLE << 2) | EV_CTRL);
  }
}

/**
 * The scheduler tick of VM `vm`: every vCPU that has a task (running or queued) gets a reschedule
 * interrupt, the guest model's stand-in for scheduler_tick() setting need_resched. An artificially
 * halted vCPU wakes up for it and may switch tasks (x86-apf §3.9 step 5); one blocked in a synchronous
 * fault cannot.
 */
function tick(s: SimState, vm: number): void {
  const sv = s.vms[vm]!;
  const cpu = sv.guest.state.cpu;
  for (const v of sv.vm.vcpus) {
    const c = v.vcpu_id;
    if (s.dead[sv.firstVcpu + c] !== 0) continue;
    if (cpu.curr[c]! < 0 && cpu.rqLen[c] === 0) continue; // NOHZ idle: no tick
    s.count[vm * NCOUNT + K_TICKS]!++;
    applyX86Step(sv.vm, { kind: 'lapic_irq', vcpu: c, vector: RESCHEDULE_VECTOR });
  }
}
