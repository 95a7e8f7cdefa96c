// What one s390 simulation run measures. Counters the model keeps itself (IRQIO_GAL, xchgs, kicker calls and
// restarts, kicks, alerts, unlinks) are read from the world at the end; what only the scheduler can see is
// counted here: AI arrivals, delivery latency (an ISC's IPM bit set → the bit consumed by a vCPU), kicker runs
// (from the unlink that starts the kicker to its NORESTART), and wake-up episodes with whether they were useful.

/** Every metric a run reports, in report order. "per alert" divides by the alerts the host processed (unlinks). */
export const METRIC_NAMES = [
  'ais',
  'ais_coalesced',
  'delivered',
  'direct_presentations',
  'latency_p50_us',
  'latency_p99_us',
  'latency_max_us',
  'pending_at_end',
  'gal_raised',
  'gal_interruptions',
  'walks',
  'xchgs',
  'xchgs_per_walk',
  'alerts',
  'unlinks',
  'kicker_calls',
  'kicker_restarts',
  'kicker_calls_per_alert',
  'restarts_per_alert',
  'kicker_runs',
  'max_restarts_per_run',
  'runs_with_one_restart_at_most',
  'kicks',
  'wakeups',
  'wakeups_useful',
  'wakeups_useless',
  'wakeups_per_alert',
  'timer_wakeups',
  'events',
] as const;
export type MetricName = (typeof METRIC_NAMES)[number];
export type Metrics = Record<MetricName, number>;

/** Latency samples in ns, growable without per-sample allocation. */
export class Samples {
  private data = new Float64Array(1024);
  n = 0;

  add(x: number): void {
    if (this.n === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.n++] = x;
  }

  /** Nearest-rank percentiles (q in [0, 1]) of a sorted copy; 0 when there are no samples. */
  percentiles(qs: readonly number[]): number[] {
    if (this.n === 0) return qs.map(() => 0);
    const sorted = this.data.slice(0, this.n).sort();
    return qs.map((q) => sorted[Math.min(this.n - 1, Math.max(0, Math.ceil(q * this.n) - 1))]!);
  }
}

/** The counters only the scheduler can see. */
export class RunCounters {
  ais = 0;
  aisCoalesced = 0;
  latency = new Samples();
  kickerRuns = 0;
  maxRestartsPerRun = 0;
  runsWithOneRestartAtMost = 0;
  wakeups = 0;
  wakeupsUseful = 0;
  wakeupsUseless = 0;
  timerWakeups = 0;
  events = 0;

  /** A kicker run ended (NORESTART, cancelled by a new alert, or still running at the end) after `restarts`. */
  endKickerRun(restarts: number): void {
    this.kickerRuns++;
    if (restarts > this.maxRestartsPerRun) this.maxRestartsPerRun = restarts;
    if (restarts <= 1) this.runsWithOneRestartAtMost++;
  }
}

/** Rounds to 4 significant digits so reports and expectations compare stable figures. */
export const round4 = (x: number): number => (Number.isFinite(x) ? Number(x.toPrecision(4)) : x);

const per = (a: number, b: number): number => (b > 0 ? round4(a / b) : 0);

/** The metrics of a run from the model's counters (summed over VMs) and the scheduler's. */
export function summarize(
  c: RunCounters,
  model: {
    gal_raised: number;
    IRQIO_GAL: number;
    walks: number;
    xchg: number;
    alerts: number;
    unlinks: number;
    kicker_calls: number;
    kicker_restarts: number;
    kicks: number;
    sie_presented: number;
    pending_at_end: number;
  },
): Metrics {
  const [p50, p99, max] = c.latency.percentiles([0.5, 0.99, 1]);
  return {
    ais: c.ais,
    ais_coalesced: c.aisCoalesced,
    delivered: c.latency.n,
    direct_presentations: model.sie_presented,
    latency_p50_us: round4(p50! / 1000),
    latency_p99_us: round4(p99! / 1000),
    latency_max_us: round4(max! / 1000),
    pending_at_end: model.pending_at_end,
    gal_raised: model.gal_raised,
    gal_interruptions: model.IRQIO_GAL,
    walks: model.walks,
    xchgs: model.xchg,
    xchgs_per_walk: per(model.xchg, model.walks),
    alerts: model.alerts,
    unlinks: model.unlinks,
    kicker_calls: model.kicker_calls,
    kicker_restarts: model.kicker_restarts,
    kicker_calls_per_alert: per(model.kicker_calls, model.unlinks),
    restarts_per_alert: per(model.kicker_restarts, model.unlinks),
    kicker_runs: c.kickerRuns,
    max_restarts_per_run: c.maxRestartsPerRun,
    runs_with_one_restart_at_most: per(c.runsWithOneRestartAtMost, c.kickerRuns),
    kicks: model.kicks,
    wakeups: c.wakeups,
    wakeups_useful: c.wakeupsUseful,
    wakeups_useless: c.wakeupsUseless,
    wakeups_per_alert: per(c.wakeups, model.unlinks),
    timer_wakeups: c.timerWakeups,
    events: c.events,
  };
}
