// A sweep's output directory (docs/sweeps.md, "Output"):
//   points.jsonl  one JSON object per finished point × seed, appended as each finishes (so a rerun resumes);
//                 rewritten in (pointIndex, seed) order when the sweep completes;
//   points.csv    the same rows: pointIndex, seed, one column per grid path, one per metric;
//   summary.json  the sweep, and per point the number of seeds, the mean and the 95% confidence interval;
//   fingerprint   what the rows belong to (a hash of the sweep), so a rerun never mixes two sweeps' rows.
// The final files are a function of the sweep alone: the same bytes whatever the order points finished in.
import {
  appendFileSync,
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../scenario/usage_error.ts';
import { VERSION as KVMSIM_VERSION } from '../scenario/version.ts';
import { summarize } from '../sim/compare.ts';
import { alignTable } from '../sim/report.ts';
import type { Sweep } from './load.ts';

export interface SweepRow {
  pointIndex: number;
  point: Record<string, unknown>;
  seed: number;
  metrics: Record<string, number | null>;
}

export interface PointSummary {
  pointIndex: number;
  point: Record<string, unknown>;
  n: number;
  mean: Record<string, number | null>;
  ci95: Record<string, [number, number] | null>;
}

export interface SweepSummary {
  kind: 'sweep';
  version: string;
  scenario: unknown;
  base: string;
  grid: { path: string; values: unknown[] }[];
  seeds: number[];
  metrics: string[];
  points: PointSummary[];
}

export const rowKey = (pointIndex: number, seed: number): string => `${pointIndex}/${seed}`;

/** Writes `text` to `file` through a temporary file and a rename: readers see the old or the new file. */
function writeAtomic(file: string, text: string): void {
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    const fd = openSync(tmp, 'w');
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (e) {
    throw new UsageError(`${file}: cannot write: ${(e as NodeJS.ErrnoException).code ?? e}`);
  }
}

/**
 * The output directory of a sweep: creates it, checks that rows already there belong to this sweep, and
 * loads them (a rerun skips them). A last line cut short by a crash is dropped.
 */
export class SweepOutput {
  readonly done = new Map<string, SweepRow>();
  private readonly jsonl: string;

  constructor(
    readonly dir: string,
    readonly sweep: Sweep,
  ) {
    try {
      mkdirSync(dir, { recursive: true });
    } catch (e) {
      throw new UsageError(
        `--out ${dir}: cannot create the directory: ${(e as NodeJS.ErrnoException).code ?? e}`,
      );
    }
    this.jsonl = join(dir, 'points.jsonl');
    const fp = join(dir, 'fingerprint');
    const mine = `${sweep.id}\n`;
    if (existsSync(fp)) {
      const theirs = readFileSync(fp, 'utf8');
      if (theirs !== mine)
        throw new UsageError(
          `--out ${dir}: holds the results of another sweep (or another kvmsim version); pick another directory or remove it`,
        );
    } else if (existsSync(this.jsonl))
      throw new UsageError(
        `--out ${dir}: has a points.jsonl of unknown origin; pick another directory or remove it`,
      );
    else writeAtomic(fp, mine);
    if (existsSync(this.jsonl)) {
      const text = readFileSync(this.jsonl, 'utf8');
      const lines = text.split('\n');
      // Only complete lines (ending in \n) count.
      lines.pop();
      const seeds = new Set(sweep.seeds);
      for (const line of lines) {
        let row: SweepRow;
        try {
          row = JSON.parse(line) as SweepRow;
        } catch {
          continue;
        }
        if (
          typeof row?.pointIndex !== 'number' ||
          sweep.points[row.pointIndex] === undefined ||
          !seeds.has(row.seed)
        )
          continue;
        this.done.set(rowKey(row.pointIndex, row.seed), row);
      }
      // Rewrite without a cut-short tail, so that appends start on a fresh line.
      if (!text.endsWith('\n') && text.length > 0) writeAtomic(this.jsonl, this.linesInFileOrder(lines));
    }
  }

  private linesInFileOrder(lines: readonly string[]): string {
    return lines
      .filter((l) => {
        try {
          JSON.parse(l);
          return true;
        } catch {
          return false;
        }
      })
      .map((l) => `${l}\n`)
      .join('');
  }

  /** Appends one finished row: a single write of one line, so a crash leaves whole lines behind. */
  append(row: SweepRow): void {
    const k = rowKey(row.pointIndex, row.seed);
    if (this.done.has(k)) return;
    this.done.set(k, row);
    try {
      appendFileSync(this.jsonl, `${JSON.stringify(row)}\n`);
    } catch (e) {
      throw new UsageError(`${this.jsonl}: cannot write: ${(e as NodeJS.ErrnoException).code ?? e}`);
    }
  }

  /** The rows in (pointIndex, seed) order, once every one is done. */
  rows(): SweepRow[] {
    const out: SweepRow[] = [];
    for (const p of this.sweep.points)
      for (const s of this.sweep.seeds) {
        const r = this.done.get(rowKey(p.pointIndex, s));
        if (r !== undefined) out.push(r);
      }
    return out;
  }

  /** Writes the final points.jsonl (in order), points.csv and summary.json; returns the summary. */
  finish(): SweepSummary {
    const rows = this.rows();
    writeAtomic(this.jsonl, rows.map((r) => `${JSON.stringify(r)}\n`).join(''));
    writeAtomic(join(this.dir, 'points.csv'), toCsv(this.sweep, rows));
    const summary = summarizeSweep(this.sweep, rows);
    writeAtomic(join(this.dir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    return summary;
  }
}

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'string' ? v : typeof v === 'number' ? String(v) : JSON.stringify(v);
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

export function toCsv(sweep: Sweep, rows: readonly SweepRow[]): string {
  const head = ['pointIndex', 'seed', ...sweep.grid.map((a) => a.path), ...sweep.metrics];
  const lines = [head.map(csvCell).join(',')];
  for (const r of rows)
    lines.push(
      [
        r.pointIndex,
        r.seed,
        ...sweep.grid.map((a) => r.point[a.path]),
        ...sweep.metrics.map((m) => r.metrics[m]),
      ]
        .map(csvCell)
        .join(','),
    );
  return `${lines.join('\n')}\n`;
}

export function summarizeSweep(sweep: Sweep, rows: readonly SweepRow[]): SweepSummary {
  const byPoint = new Map<number, SweepRow[]>();
  for (const r of rows) {
    const list = byPoint.get(r.pointIndex) ?? [];
    list.push(r);
    byPoint.set(r.pointIndex, list);
  }
  const points: PointSummary[] = sweep.points.map((p) => {
    const runs = byPoint.get(p.pointIndex) ?? [];
    const mean: Record<string, number | null> = {};
    const ci95: Record<string, [number, number] | null> = {};
    for (const m of sweep.metrics) {
      const values = runs.map((r) => r.metrics[m]).filter((v): v is number => typeof v === 'number');
      if (values.length === 0) {
        mean[m] = null;
        ci95[m] = null;
        continue;
      }
      const s = summarize(values);
      mean[m] = s.mean;
      ci95[m] = [s.mean - s.ci95, s.mean + s.ci95];
    }
    return { pointIndex: p.pointIndex, point: p.point, n: runs.length, mean, ci95 };
  });
  return {
    kind: 'sweep',
    version: KVMSIM_VERSION,
    scenario: sweep.scenario,
    base: sweep.base,
    grid: sweep.grid.map((a) => ({ path: a.path, values: a.values })),
    seeds: sweep.seeds,
    metrics: sweep.metrics,
    points,
  };
}

/** A number with about four significant digits. */
function fmt(x: number, like: number = x): string {
  const mag = like === 0 ? 0 : Math.floor(Math.log10(Math.abs(like)));
  const d = Math.min(6, Math.max(0, 3 - mag));
  return x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
}

const showValue = (v: unknown): string => (typeof v === 'string' ? v : JSON.stringify(v));

/** The aggregated table: one row per point, its grid values, then each metric as mean ± 95% CI half-width. */
export function formatSweep(s: SweepSummary): string {
  const rows: string[][] = [['point', ...s.grid.map((a) => a.path), ...s.metrics]];
  for (const p of s.points) {
    rows.push([
      String(p.pointIndex),
      ...s.grid.map((a) => showValue(p.point[a.path])),
      ...s.metrics.map((m) => {
        const mean = p.mean[m];
        const ci = p.ci95[m];
        if (mean === null || mean === undefined || ci === null || ci === undefined) return '–';
        return `${fmt(mean)} ± ${fmt((ci[1] - ci[0]) / 2, mean)}`;
      }),
    ]);
  }
  const name = (s.scenario as { name?: string } | null)?.name ?? 'sweep';
  const head =
    `${name}: ${s.points.length} point(s) × ${s.seeds.length} seed(s) (${s.seeds.join(', ')}) on ${s.base}; ` +
    'mean ± 95% confidence interval';
  return `${head}\n\n${alignTable(rows)}\n`;
}
