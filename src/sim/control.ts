// Control events: the end of warmup (snapshot and reset of the measured statistics), each VM's scheduler
// tick, the tracer's periodic samples, KSM's scanner, NUMA balancing, khugepaged and kcompactd waking up, and the end
// of a timed invalidation window (mmu_lock.ts). A control event's id is code | arg << 4 (arg: the VM of a
// tick, the VM and host mm thread of a window).
import { RESCHEDULE_VECTOR } from '../guest/x86/linux/scheduler.ts';
import { MM_NUMA_PROTNONE } from '../host/x86/primary_mmu.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import { K_TICKS, NCAT, NCOUNT } from './counters.ts';
import { windowArg, windowThread, windowVm } from './mmu_lock.ts';
import { AUTO_WARMUP_MAX_CHECKS, autoWarmupPeriod, EV_CTRL, type SimState } from './sim_state.ts';
import { halfDrift, STEADY_BATCHES } from './steady_state.ts';

/** Periods warmup: auto compares (its halves), as the verdict compares the measured window's batches. */
const AUTO_WINDOW = 6;

const CTRL_WARMUP = 0;
const CTRL_TICK = 1;
const CTRL_SAMPLE = 2;
const CTRL_KSM = 3;
const CTRL_BATCH = 4;
const CTRL_AUTO_WARMUP = 5;
const CTRL_NUMA = 6;
const CTRL_KHUGEPAGED = 7;
const CTRL_MM_WINDOW = 8;
const CTRL_COMPACTION = 9;
const ctrl = (code: number, arg = 0): number => ((code | (arg << 4)) << 2) | EV_CTRL;

/** Puts the first control events on the heap: end of warmup, each VM's first tick, the first sample. */
export function startControl(s: SimState): void {
  const sc = s.scenario;
  if (sc.autoWarmup) s.heap.push(autoWarmupPeriod(sc), ctrl(CTRL_AUTO_WARMUP));
  else if (sc.warmup > 0) s.heap.push(sc.warmup, ctrl(CTRL_WARMUP));
  for (let i = 0; i < s.vms.length; i++)
    if (s.tickPeriod[i]! > 0) s.heap.push(s.tickPeriod[i]!, ctrl(CTRL_TICK, i));
  if (s.tracer) s.heap.push(0, ctrl(CTRL_SAMPLE));
  if (s.ksm) s.heap.push(s.ksm.spec.sleep, ctrl(CTRL_KSM));
  if (s.numa) {
    s.heap.push(s.numa.spec.period, ctrl(CTRL_NUMA));
    const lock = s.mmuLock;
    if (lock !== null) {
      // The scan's change_prot_numa keeps its invalidation window open while it changes the PTEs.
      s.numa.runScan = (vm, start, end) => {
        const w = lock.beginTimed(vm, s.now, MM_NUMA_PROTNONE, start, end);
        if (w !== null) s.heap.push(w.at, ctrl(CTRL_MM_WINDOW, windowArg(vm, w.thread)));
      };
    }
  }
  if (s.thp) s.heap.push(s.thp.spec.sleep, ctrl(CTRL_KHUGEPAGED));
  if (s.compaction) s.heap.push(s.compaction.spec.interval, ctrl(CTRL_COMPACTION));
  if (s.onBatch && !sc.autoWarmup) {
    if (sc.warmup === 0) s.onBatch(s);
    scheduleBatches(s, sc.warmup, sc.duration);
  }
}

/** The measured window's batch boundaries (steady_state.ts); its start is recorded with the warmup. */
function scheduleBatches(s: SimState, from: number, to: number): void {
  if (!s.onBatch) return;
  const len = to - from;
  for (let k = 1; k <= STEADY_BATCHES; k++)
    s.heap.push(from + Math.round((len * k) / STEADY_BATCHES), ctrl(CTRL_BATCH));
}

/** The end of warmup: snapshot the counters, reset the histograms and maxima. */
function endWarmup(s: SimState): void {
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
  s.onBatch?.(s);
}

/** Task time (ns) and evictions so far, every VM together: what warmup: auto watches. */
function autoTotals(s: SimState): [number, number] {
  let work = 0;
  for (let g = 0; g < s.vcpus.length; g++) work += s.time[g * NCAT]!;
  let ev = 0;
  for (let i = 0; i < s.vms.length; i++) ev += s.host.evictions[i]!;
  return [work, ev];
}

/**
 * warmup: auto, one check per period (a tenth of `duration`): the warm-up ends once the last AUTO_WINDOW
 * periods pass the test the steady-state verdict applies to the measured window (steady_state.ts: guest
 * work and, on an overcommitted host, a non-zero eviction rate that no longer moves between the halves),
 * or after AUTO_WARMUP_MAX_CHECKS checks (the verdict then says so). The run then measures `duration`.
 */
function autoWarmupCheck(s: SimState): void {
  const sc = s.scenario;
  const a = s.autoHistory;
  a.push(autoTotals(s));
  const k = a.length;
  let steady = false;
  if (k > AUTO_WINDOW) {
    const rates = (j: 0 | 1): number[] =>
      Array.from(
        { length: AUTO_WINDOW },
        (_, i) => a[k - AUTO_WINDOW + i]![j] - a[k - AUTO_WINDOW - 1 + i]![j],
      );
    const ev = rates(1);
    const overcommitted = s.host.totalPages > sc.ramPages;
    steady =
      !halfDrift(rates(0)).moving && (!overcommitted || (ev.every((x) => x > 0) && !halfDrift(ev).moving));
  }
  if (steady || k >= AUTO_WARMUP_MAX_CHECKS) {
    s.warmupAt = s.now;
    s.endTime = s.now + sc.duration;
    endWarmup(s);
    scheduleBatches(s, s.now, s.endTime);
    return;
  }
  s.heap.push(s.now + autoWarmupPeriod(sc), ctrl(CTRL_AUTO_WARMUP));
}

/** Runs control event `id` at `s.now`. */
export function control(s: SimState, id: number): void {
  const code = id & 15;
  const arg = id >>> 4;
  if (code === CTRL_WARMUP) {
    endWarmup(s);
  } else if (code === CTRL_AUTO_WARMUP) {
    autoWarmupCheck(s);
  } else if (code === CTRL_NUMA) {
    s.numa!.scan();
    s.heap.push(s.now + s.numa!.spec.period, ctrl(CTRL_NUMA));
  } else if (code === CTRL_KHUGEPAGED) {
    // khugepaged: pages_to_scan pages' worth of 2 MiB ranges, then scan_sleep_millisecs.
    s.thp!.scan();
    s.heap.push(s.now + s.thp!.spec.sleep, ctrl(CTRL_KHUGEPAGED));
  } else if (code === CTRL_COMPACTION) {
    s.compaction!.wake();
    s.heap.push(s.now + s.compaction!.spec.interval, ctrl(CTRL_COMPACTION));
  } else if (code === CTRL_MM_WINDOW) {
    s.mmuLock!.finishTimed(windowVm(arg), windowThread(arg));
  } else if (code === CTRL_BATCH) {
    s.onBatch?.(s);
  } else if (code === CTRL_TICK) {
    tick(s, arg);
    s.heap.push(s.now + s.tickPeriod[arg]!, ctrl(CTRL_TICK, arg));
  } else if (code === CTRL_KSM) {
    // ksmd: a batch of pages_to_scan pages, then sleep_millisecs.
    s.ksm!.scan();
    s.heap.push(s.now + s.ksm!.spec.sleep, ctrl(CTRL_KSM));
  } else {
    s.tracer?.sample(s, s.now);
    s.heap.push(s.now + s.tracer!.samplePeriod, ctrl(CTRL_SAMPLE));
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
