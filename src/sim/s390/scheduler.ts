// The discrete-event scheduler over the s390 model's steps. It decides only *when* things happen — a guest's
// SIE slice ends, a device raises an AI, a GAL reaches the host, a woken vCPU thread runs, a timer expires —
// and applies the model's own steps (applyStep) at those times; what a step does is entirely the model's.
//
// After every step the scheduler reconciles the VM the step touched: the SIE presents what running vCPUs can
// take (H2 is immediate hardware behaviour), newly set or consumed IPM bits start or end a latency sample,
// a newly woken halted vCPU gets its re-check scheduled after a wake-up latency, a (re)armed hrtimer is pushed
// at its expiry, and a raised GAL is scheduled for the host. Timers are state in the model, so a cancelled or
// re-armed timer leaves a stale heap event behind; an event fires only if the timer is still armed at that
// time with the sequence number it was pushed for. hrtimer_start(0) therefore fires at the current time, after
// the event that armed it, and hrtimer_forward_now moves it 50 µs on.
//
// Everything is deterministic: event order is (time, push order), randomness comes only from the workload's
// named streams, and nothing reads a clock.

import { sieDeliverable } from '../../s390/millicode.ts';
import { applyStep, type S390Step } from '../../s390/steps.ts';
import { strategyTraits } from '../../s390/strategy.ts';
import { setupWorld } from '../../s390/vm.ts';
import {
  type S390World,
  VCPU_HOST,
  VCPU_IN_SIE,
  type VcpuState,
  vmByGisa,
  WALK_IDLE,
  WALK_KICK,
  WALK_UNLINK,
} from '../../s390/world.ts';
import { EventHeap } from '../engine/heap.ts';
import { type Metrics, RunCounters, summarize } from './metrics.ts';
import type { SimDevice, SimSetup } from './workload.ts';

// Event payload = index * 8 + kind.
const RUN_END = 0; // vCPU g: its SIE slice ends, the guest loads an enabled-wait PSW
const RESUME = 1; // vCPU g: the woken thread re-checks kvm_vcpu_check_block
const CKC = 2; // vCPU g: its clock-comparator hrtimer expires
const KICKER = 3; // VM m: its gisa_vcpu_kicker hrtimer expires
const DEVICE = 4; // device d raises an adapter interruption
const GAL_TAKE = 5; // the host takes the GAL interruption
const WALK_STEP = 6; // the next process_gib_alert_list micro-step

const EPISODE_NONE = 0;
const EPISODE_KICK = 1;
const EPISODE_TIMER = 2;

interface VcpuSteps {
  enter: S390Step;
  wait: S390Step;
  resume: S390Step;
  ckc: S390Step;
  present: S390Step;
  setCkc: { kind: 'set_ckc'; vm: number; vcpu: number; ns: number };
}

export interface SimResult {
  readonly variant: string;
  readonly seed: number;
  readonly metrics: Metrics;
}

/** One run of one variant for one seed. */
export class S390Sim {
  readonly w: S390World;
  private readonly heap = new EventHeap(1024);
  private readonly c = new RunCounters();
  private readonly kickerStrategy: boolean;

  // vCPU g ↔ (VM, index)
  private readonly vcpuVm: Int32Array;
  private readonly vcpuBase: Int32Array;
  private readonly vcpus: VcpuState[] = [];
  private readonly steps: VcpuSteps[] = [];
  private readonly resumeScheduled: Uint8Array;
  private readonly episode: Uint8Array;
  private readonly kickSeen: Float64Array;
  private readonly ckcSeq: Float64Array;

  // per VM
  private readonly kickerSeq: Float64Array;
  private readonly ipmSeen: Int32Array;
  private readonly pendingSince: Float64Array;
  private readonly unlinksSeen: Float64Array;
  private readonly runActive: Uint8Array;
  private readonly runRestarts: Int32Array;
  private readonly kickerStep: S390Step[];
  private readonly aiStep: S390Step[][];

  // per device
  private readonly devices: SimDevice[] = [];
  private readonly deviceVm: Int32Array;
  private readonly deviceIsc: Int32Array;
  private readonly burstLeft: Int32Array;

  private galScheduled = false;
  private readonly galIrq: S390Step = { kind: 'gal_irq' };
  private readonly galStep: S390Step = { kind: 'gal_step' };

  constructor(private readonly setup: SimSetup) {
    const w = setupWorld(
      setup.config,
      setup.vms.map((vm) => ({
        name: vm.name,
        vcpu_ids: vm.vcpus.map((_, i) => i),
        gisc: vm.gisc,
      })),
    );
    w.tracing = false;
    this.w = w;
    this.kickerStrategy = strategyTraits(w.cfg.strategy).alertAction === 'kicker_timer';
    const nVms = w.vms.length;
    const nVcpus = setup.vms.reduce((n, vm) => n + vm.vcpus.length, 0);
    const nDevices = setup.vms.reduce((n, vm) => n + vm.devices.length, 0);
    this.vcpuVm = new Int32Array(nVcpus);
    this.vcpuBase = new Int32Array(nVms);
    this.resumeScheduled = new Uint8Array(nVcpus);
    this.episode = new Uint8Array(nVcpus);
    this.kickSeen = new Float64Array(nVcpus);
    this.ckcSeq = new Float64Array(nVcpus);
    this.kickerSeq = new Float64Array(nVms);
    this.ipmSeen = new Int32Array(nVms);
    this.pendingSince = new Float64Array(nVms * 8);
    this.unlinksSeen = new Float64Array(nVms);
    this.runActive = new Uint8Array(nVms);
    this.runRestarts = new Int32Array(nVms);
    this.kickerStep = w.vms.map((vm) => ({ kind: 'kicker_fire', vm: vm.index }));
    this.aiStep = w.vms.map((vm) =>
      Array.from({ length: 8 }, (_, isc): S390Step => ({ kind: 'firmware_ai', vm: vm.index, isc })),
    );
    this.deviceVm = new Int32Array(nDevices);
    this.deviceIsc = new Int32Array(nDevices);
    this.burstLeft = new Int32Array(nDevices);
    let g = 0;
    let d = 0;
    for (const vm of w.vms) {
      const spec = setup.vms[vm.index]!;
      this.vcpuBase[vm.index] = g;
      for (const v of vm.vcpus) {
        const at = { vm: vm.index, vcpu: v.vcpu_idx };
        this.vcpuVm[g] = vm.index;
        this.vcpus.push(v);
        this.steps.push({
          enter: { kind: 'enter_sie', ...at },
          wait: { kind: 'wait', ...at },
          resume: { kind: 'resume', ...at },
          ckc: { kind: 'ckc_fire', ...at },
          present: { kind: 'sie_present', ...at },
          setCkc: { kind: 'set_ckc', ...at, ns: -1 },
        });
        applyStep(w, { kind: 'set_cr6', ...at, mask: spec.vcpus[v.vcpu_idx]!.cr6 });
        g++;
      }
      for (const dev of spec.devices) {
        this.devices.push(dev);
        this.deviceVm[d] = vm.index;
        this.deviceIsc[d] = dev.isc;
        d++;
      }
    }
  }

  /** Runs to the scenario's duration and returns the metrics. */
  run(): SimResult {
    const { w, heap, setup } = this;
    // Every vCPU starts in the host run loop and enters SIE at time 0; devices start their first interval.
    for (let g = 0; g < this.vcpus.length; g++) this.enterSie(g);
    this.devices.forEach((dev, d) => {
      this.burstLeft[d] = dev.burstCount - 1;
      heap.push(dev.interval.sample(dev.rng), d * 8 + DEVICE);
    });
    while (heap.size > 0 && heap.peekTime() <= setup.duration) {
      const payload = heap.pop();
      w.now = heap.lastTime;
      this.c.events++;
      this.dispatch(payload >>> 3, payload & 7);
    }
    w.now = setup.duration;
    return { variant: setup.variant, seed: setup.seed, metrics: this.finish() };
  }

  private dispatch(i: number, kind: number): void {
    if (kind === RUN_END) this.runEnd(i);
    else if (kind === RESUME) this.resume(i);
    else if (kind === CKC) this.ckc(i);
    else if (kind === KICKER) this.kicker(i);
    else if (kind === DEVICE) this.device(i);
    else if (kind === GAL_TAKE) this.galTake();
    else this.walkStep();
  }

  /** The run loop enters SIE (delivering what is deliverable) and the guest runs a slice. */
  private enterSie(g: number): void {
    const m = this.vcpuVm[g]!;
    applyStep(this.w, this.steps[g]!.enter);
    this.reconcile(m);
    const spec = this.setup.vms[m]!;
    const rng = spec.vcpus[g - this.vcpuBase[m]!]!.guest;
    this.heap.push(this.w.now + spec.run.sample(rng), g * 8 + RUN_END);
  }

  /** The guest's slice ends: it arms its timer (if it has one) and loads an enabled-wait PSW. */
  private runEnd(g: number): void {
    const m = this.vcpuVm[g]!;
    const spec = this.setup.vms[m]!;
    const st = this.steps[g]!;
    if (spec.idle !== null) {
      st.setCkc.ns = spec.idle.sample(spec.vcpus[g - this.vcpuBase[m]!]!.guest);
      applyStep(this.w, st.setCkc);
    }
    applyStep(this.w, st.wait);
    this.reconcile(m);
    // handle_wait returned without blocking (something was already pending): straight back into SIE.
    if (this.vcpus[g]!.state === VCPU_HOST) this.enterSie(g);
  }

  /** The woken thread runs kvm_vcpu_check_block: back to the run loop, or asleep again. */
  private resume(g: number): void {
    const v = this.vcpus[g]!;
    const m = this.vcpuVm[g]!;
    this.resumeScheduled[g] = 0;
    const episode = this.episode[g]!;
    this.episode[g] = EPISODE_NONE;
    if (episode === EPISODE_KICK) this.c.wakeups++;
    else if (episode === EPISODE_TIMER) this.c.timerWakeups++;
    const out = applyStep(this.w, this.steps[g]!.resume);
    if (out.halt !== 'exit') {
      if (episode === EPISODE_KICK) this.c.wakeupsUseless++;
      this.reconcile(m);
      return;
    }
    const taken = v.stat.deliver_io + v.stat.sie_presented;
    this.enterSie(g);
    // Useful: the kicked vCPU took an interruption on its way back into SIE.
    if (episode === EPISODE_KICK) {
      if (v.stat.deliver_io + v.stat.sie_presented > taken) this.c.wakeupsUseful++;
      else this.c.wakeupsUseless++;
    }
  }

  private ckc(g: number): void {
    const v = this.vcpus[g]!;
    if (v.ckc_timer_at !== this.w.now || v.ckc_timer_seq !== this.ckcSeq[g]) return; // stale
    applyStep(this.w, this.steps[g]!.ckc);
    this.reconcile(this.vcpuVm[g]!);
  }

  private kicker(m: number): void {
    const gi = this.w.vms[m]!.gi;
    if (gi.timer_at !== this.w.now || gi.timer_seq !== this.kickerSeq[m]) return; // stale
    const out = applyStep(this.w, this.kickerStep[m]!);
    if (this.runActive[m]) {
      if (out.ret === 'RESTART') this.runRestarts[m]!++;
      else {
        this.c.endKickerRun(this.runRestarts[m]!);
        this.runActive[m] = 0;
      }
    }
    this.reconcile(m);
  }

  private device(d: number): void {
    const m = this.deviceVm[d]!;
    const isc = this.deviceIsc[d]!;
    const vm = this.w.vms[m]!;
    this.c.ais++;
    if (vm.gisa.ipm & (0x80 >> isc)) this.c.aisCoalesced++;
    applyStep(this.w, this.aiStep[m]![isc]!);
    this.reconcile(m);
    const dev = this.devices[d]!;
    if (this.burstLeft[d]! > 0) {
      this.burstLeft[d]!--;
      this.heap.push(this.w.now + dev.burstGap, d * 8 + DEVICE);
    } else {
      this.burstLeft[d] = dev.burstCount - 1;
      this.heap.push(this.w.now + dev.interval.sample(dev.rng), d * 8 + DEVICE);
    }
  }

  private galTake(): void {
    const w = this.w;
    this.galScheduled = false;
    if (!w.gal_pending || w.walk.phase !== WALK_IDLE) return; // the walk's end reschedules
    applyStep(w, this.galIrq);
    this.walkStep();
  }

  /** One micro-step of the interrupt-context process_gib_alert_list; the next one walk_step later. */
  private walkStep(): void {
    const w = this.w;
    const unlinking = w.walk.phase === WALK_UNLINK ? vmByGisa(w, w.walk.origin) : undefined;
    applyStep(w, this.galStep);
    // The unlink store and the kicker start are separate micro-steps for the explorer; the simulator times one
    // walk_step per unlinked GISA, so it takes both at once.
    if (w.walk.phase === WALK_KICK) applyStep(w, this.galStep);
    if (unlinking) this.reconcile(unlinking.index);
    if (w.walk.phase !== WALK_IDLE) this.heap.push(w.now + this.setup.walkStep, WALK_STEP);
    else this.scheduleGal();
  }

  private scheduleGal(): void {
    const w = this.w;
    if (!w.gal_pending || this.galScheduled || w.walk.phase !== WALK_IDLE) return;
    this.galScheduled = true;
    this.heap.push(w.now + this.setup.galLatency.sample(this.setup.galRng), GAL_TAKE);
  }

  /** Brings the scheduler's view of VM m up to date after a step (see the file comment). */
  private reconcile(m: number): void {
    const w = this.w;
    const vm = w.vms[m]!;
    const base = this.vcpuBase[m]!;
    const now = w.now;
    // H2: running vCPUs take what they can.
    for (let c = 0; c < vm.vcpus.length; c++) {
      const v = vm.vcpus[c]!;
      if (v.state !== VCPU_IN_SIE) continue;
      while (sieDeliverable(vm, v)) applyStep(w, this.steps[base + c]!.present);
    }
    // IPM bits: set → a latency sample starts; consumed → it ends.
    const ipm = vm.gisa.ipm;
    const seen = this.ipmSeen[m]!;
    if (ipm !== seen) {
      for (let isc = 0; isc < 8; isc++) {
        const bit = 0x80 >> isc;
        if (ipm & bit && !(seen & bit)) this.pendingSince[m * 8 + isc] = now;
        else if (seen & bit && !(ipm & bit)) this.c.latency.add(now - this.pendingSince[m * 8 + isc]!);
      }
      this.ipmSeen[m] = ipm;
    }
    // Woken halted vCPUs: their thread re-checks after a wake-up latency.
    for (let c = 0; c < vm.vcpus.length; c++) {
      const g = base + c;
      const v = vm.vcpus[c]!;
      const kicked = v.stat.kick_wakeup !== this.kickSeen[g];
      this.kickSeen[g] = v.stat.kick_wakeup;
      if (v.wakeup_pending && !this.resumeScheduled[g]) {
        this.resumeScheduled[g] = 1;
        this.episode[g] = kicked ? EPISODE_KICK : EPISODE_TIMER;
        const spec = this.setup.vms[m]!;
        this.heap.push(now + spec.wake.sample(spec.vcpus[c]!.wake), g * 8 + RESUME);
      }
      if (v.ckc_timer_at >= 0 && v.ckc_timer_seq !== this.ckcSeq[g]) {
        this.ckcSeq[g] = v.ckc_timer_seq;
        this.heap.push(v.ckc_timer_at, g * 8 + CKC);
      }
    }
    // A new alert processed for this VM starts a kicker run (v6 and later), cancelling the running one.
    if (vm.stat.unlinks !== this.unlinksSeen[m]) {
      this.unlinksSeen[m] = vm.stat.unlinks;
      if (this.kickerStrategy) {
        if (this.runActive[m]) this.c.endKickerRun(this.runRestarts[m]!);
        this.runActive[m] = 1;
        this.runRestarts[m] = 0;
      }
    }
    if (vm.gi.timer_at >= 0 && vm.gi.timer_seq !== this.kickerSeq[m]) {
      this.kickerSeq[m] = vm.gi.timer_seq;
      this.heap.push(vm.gi.timer_at, m * 8 + KICKER);
    }
    this.scheduleGal();
  }

  private finish(): Metrics {
    const w = this.w;
    for (let m = 0; m < w.vms.length; m++) if (this.runActive[m]) this.c.endKickerRun(this.runRestarts[m]!);
    const model = {
      gal_raised: w.stat.gal_raised,
      IRQIO_GAL: w.stat.IRQIO_GAL,
      walks: w.stat.walks,
      xchg: w.stat.xchg,
      alerts: 0,
      unlinks: 0,
      kicker_calls: 0,
      kicker_restarts: 0,
      kicks: 0,
      sie_presented: 0,
      pending_at_end: 0,
    };
    for (const vm of w.vms) {
      model.alerts += vm.stat.alerts;
      model.unlinks += vm.stat.unlinks;
      model.kicker_calls += vm.stat.kicker_calls;
      model.kicker_restarts += vm.stat.kicker_restarts;
      model.kicks += vm.stat.kicks;
      for (const v of vm.vcpus) model.sie_presented += v.stat.sie_presented;
      const pending = vm.gisa.ipm & vm.gi.mask;
      for (let isc = 0; isc < 8; isc++) if (pending & (0x80 >> isc)) model.pending_at_end++;
    }
    return summarize(this.c, model);
  }
}
