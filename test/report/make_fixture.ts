// The report tests' inputs, made by running kvmsim itself: a small sweep output directory in the format
// `kvmsim sweep` writes (docs/report.md, "Inputs"), a `kvmsim compare --json` file and a `kvmsim run --json`
// file, all of the short scenario test/report/fixtures/base.yaml. Every run is a real `kvmsim run --json`
// command line (through src/cli/main.ts, in this process: a child per run would cost a second each), so the
// fixture has the shape the simulator prints today; the same inputs give byte-identical files.
//
//   node --import tsx test/report/make_fixture.ts [DIR]     (default: test/report/fixtures)
//
// It captures this process's stdout while a command runs, so a test calls it in a child process.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse, stringify } from 'yaml';
import { summarize } from '../../src/sim/compare.ts';
import { runCli } from '../test_utils/cli_inprocess.ts';

export interface SweepGrid {
  path: string;
  values: (string | number | boolean)[];
}

export interface FixtureOptions {
  grid: SweepGrid[];
  seeds: number[];
  metrics: string[];
  /** Also write compare.json and run.json next to the sweep directory. */
  compareAndRun: boolean;
}

export const DEFAULT_FIXTURE: FixtureOptions = {
  grid: [
    { path: 'vms.0.workload.tasks_per_vcpu', values: [1, 2, 4, 8] },
    { path: 'vms.0.apf', values: ['off', 'sync', 'legacy', 'interrupt'] },
  ],
  seeds: [1, 2, 3],
  metrics: [
    'total.work.task_cpu_rate',
    'total.faults.per_s',
    'total.page_ready.p99_us',
    'total.vcpu_time.task',
    'total.vcpu_time.guest_kernel',
    'total.vcpu_time.apf_exits',
    'total.vcpu_time.idle',
    'total.vcpu_time.apf_halted',
    'total.vcpu_time.sync_blocked',
  ],
  compareAndRun: true,
};

const BASE = join(import.meta.dirname, 'fixtures/base.yaml');

/** `vms.0.apf` or `vms[0].apf` → ['vms', '0', 'apf']. */
const steps = (path: string): string[] => path.replace(/\[(\d+)\]/g, '.$1').split('.');

function setPath(obj: Record<string, unknown>, path: string, value: unknown): void {
  const keys = steps(path);
  let o = obj as Record<string, unknown>;
  for (const k of keys.slice(0, -1)) {
    if (o[k] === null || typeof o[k] !== 'object') throw new Error(`${path}: no object at ${k}`);
    o = o[k] as Record<string, unknown>;
  }
  o[keys.at(-1)!] = value;
}

/** A metric of the run's JSON: a number, or null where the run has nothing to measure (as `kvmsim sweep`). */
function getPath(obj: unknown, path: string): number | null {
  let o = obj;
  for (const k of steps(path)) o = (o as Record<string, unknown> | undefined)?.[k];
  if (typeof o !== 'number' && o !== null) throw new Error(`metric ${path}: not a number in the run's JSON`);
  return o;
}

function product(grid: readonly SweepGrid[]): Record<string, string | number | boolean>[] {
  let out: Record<string, string | number | boolean>[] = [{}];
  for (const g of grid) out = out.flatMap((p) => g.values.map((v) => ({ ...p, [g.path]: v })));
  return out;
}

async function kvmsim(args: string[]): Promise<string> {
  const r = await runCli(args);
  if (r.status !== 0) throw new Error(`kvmsim ${args.join(' ')}: exit ${r.status}: ${r.stderr}`);
  return r.stdout;
}

const csvCell = (v: unknown): string => {
  if (v === null || v === undefined) return ''; // as `kvmsim sweep` writes a null
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
};

/** Writes DIR/sweep/{points.jsonl,points.csv,summary.json} (and DIR/compare.json, DIR/run.json). */
export async function makeFixture(dir: string, opts: FixtureOptions = DEFAULT_FIXTURE): Promise<void> {
  const base = parse(readFileSync(BASE, 'utf8')) as Record<string, unknown>;
  const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-report-fixture-'));
  const sweepDir = join(dir, 'sweep');
  mkdirSync(sweepDir, { recursive: true });
  const version = (
    JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  try {
    const points = product(opts.grid);
    const jsonl: string[] = [];
    const csv: string[] = [
      ['pointIndex', ...opts.grid.map((g) => g.path), 'seed', ...opts.metrics].map(csvCell).join(','),
    ];
    const aggregated = [];
    for (const [pointIndex, point] of points.entries()) {
      const scenario = structuredClone(base);
      for (const [path, value] of Object.entries(point)) setPath(scenario, path, value);
      const file = join(tmp, `point-${pointIndex}.yaml`);
      writeFileSync(file, stringify(scenario));
      const perSeed: Record<string, number | null>[] = [];
      for (const seed of opts.seeds) {
        const run = JSON.parse(await kvmsim(['run', file, '--json', '--seed', String(seed)]));
        const metrics: Record<string, number | null> = {};
        for (const m of opts.metrics) metrics[m] = getPath(run, m);
        perSeed.push(metrics);
        jsonl.push(JSON.stringify({ pointIndex, point, seed, metrics }));
        csv.push(
          [pointIndex, ...opts.grid.map((g) => point[g.path]), seed, ...opts.metrics.map((m) => metrics[m])]
            .map(csvCell)
            .join(','),
        );
      }
      const mean: Record<string, number | null> = {};
      const ci95: Record<string, [number, number] | null> = {};
      for (const m of opts.metrics) {
        const values = perSeed.map((x) => x[m]).filter((v): v is number => typeof v === 'number');
        if (values.length === 0) {
          mean[m] = null;
          ci95[m] = null;
          continue;
        }
        const s = summarize(values);
        mean[m] = s.mean;
        ci95[m] = [s.mean - s.ci95, s.mean + s.ci95];
      }
      aggregated.push({ pointIndex, point, n: perSeed.length, mean, ci95 });
    }
    const sweepScenario = {
      kind: 'sweep',
      name: 'report-fixture',
      base: 'base.yaml',
      grid: opts.grid,
      seeds: opts.seeds,
      metrics: opts.metrics,
    };
    const summary = {
      kind: 'sweep',
      version,
      scenario: sweepScenario,
      base: 'base.yaml',
      grid: opts.grid,
      seeds: opts.seeds,
      metrics: opts.metrics,
      points: aggregated,
    };
    writeFileSync(join(sweepDir, 'points.jsonl'), `${jsonl.join('\n')}\n`);
    writeFileSync(join(sweepDir, 'points.csv'), `${csv.join('\n')}\n`);
    writeFileSync(join(sweepDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);
    if (opts.compareAndRun) {
      writeFileSync(join(dir, 'run.json'), await kvmsim(['run', BASE, '--json']));
      writeFileSync(
        join(dir, 'compare.json'),
        await kvmsim(['compare', BASE, '--json', '--apf', 'off,sync,legacy,interrupt', '--seeds', '3']),
      );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const dir = process.argv[2] ?? join(import.meta.dirname, 'fixtures');
  const small = process.argv[3] === '--small';
  await makeFixture(
    dir,
    small
      ? {
          ...DEFAULT_FIXTURE,
          grid: [
            { path: 'vms.0.workload.tasks_per_vcpu', values: [1, 4] },
            { path: 'vms.0.apf', values: ['sync', 'interrupt'] },
          ],
          seeds: [1, 2],
          compareAndRun: false,
        }
      : DEFAULT_FIXTURE,
  );
}
