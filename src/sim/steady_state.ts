// Did a run measure a host at steady state? The measured window is cut into STEADY_BATCHES equal batches
// (batch means); for guest work and for reclaim (evictions/s) the first half of the batches is compared
// with the second. A rate whose halves differ by more than STEADY_TOLERANCE of the larger and by more than
// twice the standard error of the difference (from the spread of the batches around their half's mean) is
// still moving: the run was measured before steady state. An overcommitted host (guest RAM above
// host.ram) that did not reclaim at all in the window is not at steady state either: its RAM was still
// filling up, so the run measured a host without memory pressure.

/** Batches the measured window is cut into. */
export const STEADY_BATCHES = 10;
/** Relative change between the halves below which a rate counts as steady whatever the noise. */
export const STEADY_TOLERANCE = 0.1;

export interface SteadyState {
  reached: boolean;
  /** Batches measured (fewer than STEADY_BATCHES when max_faults ended the run early). */
  batches: number;
  /** (second half − first half) / the larger, for guest work and evictions/s (null: no reclaim at all). */
  work_drift: number;
  eviction_drift: number | null;
  /** One sentence: why it is, or is not, steady. */
  note: string;
}

interface Drift {
  drift: number;
  moving: boolean;
}

/** The drift of per-batch rates `r` between the first and the second half. */
export function halfDrift(r: readonly number[]): Drift {
  const h = Math.floor(r.length / 2);
  const a = r.slice(0, h);
  const b = r.slice(r.length - h);
  const mean = (x: readonly number[]): number => x.reduce((s, v) => s + v, 0) / x.length;
  const ma = mean(a);
  const mb = mean(b);
  const top = Math.max(Math.abs(ma), Math.abs(mb));
  if (top === 0) return { drift: 0, moving: false };
  const ss = a.reduce((s, v) => s + (v - ma) ** 2, 0) + b.reduce((s, v) => s + (v - mb) ** 2, 0);
  const sd = h > 1 ? Math.sqrt(ss / (2 * h - 2)) : 0;
  const se = sd * Math.sqrt(2 / h);
  const d = mb - ma;
  return { drift: d / top, moving: Math.abs(d) > STEADY_TOLERANCE * top && Math.abs(d) > 2 * se };
}

const pct = (x: number): string => `${x >= 0 ? '+' : ''}${(x * 100).toFixed(1)}%`;

/**
 * Assesses the batches: `times` are the batch boundaries (ns, first = start of the measured window),
 * `work` and `evictions` the cumulative task time (ns) and evictions at each boundary.
 */
export function assessSteadyState(
  times: readonly number[],
  work: readonly number[],
  evictions: readonly number[],
  overcommitted: boolean,
  /** The warm-up was `auto` and ended at this time (ns), found steady or at its limit. */
  autoWarmupEnd: number | null = null,
): SteadyState {
  const hint =
    autoWarmupEnd === null
      ? 'lengthen warmup (or use warmup: auto)'
      : `the automatic warm-up ended at ${(autoWarmupEnd / 1e9).toFixed(2)} s; a longer duration measures more of the drift away`;
  const n = times.length - 1;
  if (n < 4)
    return {
      reached: false,
      batches: Math.max(0, n),
      work_drift: 0,
      eviction_drift: null,
      note: 'too short a measured window to tell (fewer than 4 batches)',
    };
  const rate = (c: readonly number[]): number[] =>
    Array.from({ length: n }, (_, i) => (c[i + 1]! - c[i]!) / (times[i + 1]! - times[i]!));
  const w = halfDrift(rate(work));
  const evicted = evictions[n]! - evictions[0]!;
  const e = evicted > 0 ? halfDrift(rate(evictions)) : null;
  let note: string;
  let reached = true;
  if (overcommitted && evicted === 0) {
    reached = false;
    note =
      'the host never reclaimed in the measured window: its RAM was still filling up, so the run measured ' +
      `no memory pressure; ${hint}`;
  } else if (e?.moving) {
    reached = false;
    note = `evictions/s changed ${pct(e.drift)} between the halves of the measured window; ${hint}`;
  } else if (w.moving) {
    reached = false;
    note = `guest work changed ${pct(w.drift)} between the halves of the measured window; ${hint}`;
  } else
    note =
      `guest work ${pct(w.drift)}${e ? `, evictions/s ${pct(e.drift)}` : ''} between the halves of the ` +
      `measured window${e || overcommitted ? '' : '; no reclaim needed: RAM holds every VM'}`;
  return { reached, batches: n, work_drift: r4(w.drift), eviction_drift: e ? r4(e.drift) : null, note };
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;
