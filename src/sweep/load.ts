// Loading a `kind: sweep` scenario: YAML → zod → the base scenario → one scenario per point of the grid,
// each checked as `kvmsim run` would check it. Every failure is one line naming the sweep file and the
// field (ScenarioError, exit 2): a value that makes the base scenario invalid is named by its place in the
// grid (`grid[0].values[2]`), with the base scenario's own complaint.
import { createHash } from 'node:crypto';
import { dirname, isAbsolute, join } from 'node:path';
import { readScenarioFile, validateScenario } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { VERSION as KVMSIM_VERSION } from '../scenario/version.ts';
import { parseSimScenario, type SimScenario } from '../sim/load_sim.ts';
import { type PathStep, parsePath, setPath } from './field_path.ts';
import { DEFAULT_SWEEP_METRICS, SweepScenarioSchema } from './schema.ts';

export interface SweepAxis {
  path: string;
  steps: PathStep[];
  values: unknown[];
  /** Fields set along with this one, value for value. */
  with: { path: string; steps: PathStep[]; values: unknown[] }[];
}

export interface SweepPoint {
  pointIndex: number;
  /** The grid's value of each axis, by path (in grid order). */
  point: Record<string, unknown>;
  /** The base scenario with `set` and this point's values applied (plain data, as read from YAML). */
  raw: unknown;
  /** `raw` as `kvmsim run` loads it. */
  scenario: SimScenario;
}

export interface Sweep {
  file: string;
  name: string;
  /** The sweep file as parsed (plain JSON). */
  scenario: unknown;
  /** `base` as written in the sweep file, and the path it resolves to. */
  base: string;
  baseFile: string;
  grid: SweepAxis[];
  seeds: number[];
  metrics: string[];
  points: SweepPoint[];
  /** A hash of what the sweep computes (kvmsim version, every point's scenario, seeds, metrics). */
  id: string;
}

const show = (v: unknown): string => JSON.stringify(v) ?? String(v);

export function parseSweep(raw: unknown, file: string): Sweep {
  const s = validateScenario(file, raw, SweepScenarioSchema);
  const baseFile = isAbsolute(s.base) ? s.base : join(dirname(file), s.base);
  let baseRaw: unknown;
  let base: SimScenario;
  try {
    baseRaw = readScenarioFile(baseFile);
    base = parseSimScenario(baseRaw, baseFile);
  } catch (e) {
    if (e instanceof ScenarioError)
      throw new ScenarioError(file, 'base', `the base scenario is not usable: ${e.message}`);
    throw e;
  }
  const setPaths = Object.keys(s.set);
  const grid: SweepAxis[] = s.grid.map((a) => ({
    path: a.path,
    steps: parsePath(a.path)!,
    values: a.values,
    with: Object.entries(a.with).map(([path, values]) => ({ path, steps: parsePath(path)!, values })),
  }));
  const seen = new Set<string>();
  grid.forEach((a, g) => {
    const fields: [string, string][] = [
      [`grid[${g}].path`, a.path],
      ...a.with.map((w): [string, string] => [`grid[${g}].with.${w.path}`, w.path]),
    ];
    for (const [field, p] of fields) {
      if (seen.has(p) || setPaths.includes(p) || p === 'seed')
        throw new ScenarioError(
          file,
          field,
          p === 'seed'
            ? "the seeds are the sweep's own `seeds` field"
            : `${p} is varied twice (in two axes, or in an axis and in set)`,
        );
      seen.add(p);
    }
    for (const w of a.with)
      if (w.values.length !== a.values.length)
        throw new ScenarioError(
          file,
          `grid[${g}].with.${w.path}`,
          `expected ${a.values.length} value(s), one per value of ${a.path}, got ${w.values.length}`,
        );
    const values = new Set(a.values.map(show));
    if (values.size !== a.values.length)
      throw new ScenarioError(file, `grid[${g}].values`, `a value is listed twice in ${show(a.values)}`);
  });
  if (setPaths.includes('seed'))
    throw new ScenarioError(file, 'set.seed', "the seeds are the sweep's own `seeds` field");

  // The base with `set` applied, checked on its own so that a bad `set` is named as such.
  const fixed = structuredClone(baseRaw);
  for (const p of setPaths) {
    const why = setPath(fixed, parsePath(p)!, s.set[p]);
    if (why !== null) throw new ScenarioError(file, `set.${p}`, `does not fit the base scenario: ${why}`);
  }
  const check = (data: unknown, field: string, what: string): SimScenario => {
    try {
      return parseSimScenario(data, baseFile);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      throw new ScenarioError(
        file,
        field,
        `${what} the base scenario is not valid: ${e.field || '(top level)'}: ${e.allowed}`,
      );
    }
  };
  if (setPaths.length > 0) check(fixed, 'set', 'with set,');

  // Every combination, the first axis varying slowest.
  const points: SweepPoint[] = [];
  const total = grid.reduce((n, a) => n * a.values.length, 1);
  if (total > 100_000)
    throw new ScenarioError(file, 'grid', `expected at most 100000 points, the grid has ${total}`);
  for (let index = 0; index < total; index++) {
    const pick: number[] = [];
    let rest = index;
    for (let g = grid.length - 1; g >= 0; g--) {
      pick[g] = rest % grid[g]!.values.length;
      rest = Math.floor(rest / grid[g]!.values.length);
    }
    const data = structuredClone(fixed);
    const point: Record<string, unknown> = {};
    grid.forEach((a, g) => {
      const v = a.values[pick[g]!];
      point[a.path] = v;
      const why = setPath(data, a.steps, v);
      if (why !== null)
        throw new ScenarioError(file, `grid[${g}].path`, `does not fit the base scenario: ${why}`);
      for (const w of a.with) {
        const whyW = setPath(data, w.steps, w.values[pick[g]!]);
        if (whyW !== null)
          throw new ScenarioError(
            file,
            `grid[${g}].with.${w.path}`,
            `does not fit the base scenario: ${whyW}`,
          );
      }
    });
    let scenario: SimScenario;
    try {
      scenario = parseSimScenario(data, baseFile);
    } catch (e) {
      if (!(e instanceof ScenarioError)) throw e;
      // Named by the axis whose field the base scenario complains about, else as the grid as a whole.
      const g = grid.findIndex(
        (a) => sameField(a.path, e.field) || a.with.some((w) => sameField(w.path, e.field)),
      );
      const field = g >= 0 ? `grid[${g}].values[${pick[g]}]` : 'grid';
      throw new ScenarioError(
        file,
        field,
        `at point ${index} (${Object.entries(point)
          .map(([k, v]) => `${k} = ${show(v)}`)
          .join(', ')}) the base scenario is not valid: ${e.field || '(top level)'}: ${e.allowed}`,
      );
    }
    points.push({ pointIndex: index, point, raw: data, scenario });
  }

  const firstSeed = s.seed ?? base.seed;
  const seeds = Array.isArray(s.seeds)
    ? s.seeds
    : Array.from({ length: s.seeds }, (_, i) => (firstSeed + i) >>> 0);
  if (new Set(seeds).size !== seeds.length)
    throw new ScenarioError(file, 'seeds', `a seed is listed twice in ${show(seeds)}`);
  const metrics = [...(s.metrics ?? DEFAULT_SWEEP_METRICS)];
  if (new Set(metrics).size !== metrics.length)
    throw new ScenarioError(file, 'metrics', 'a metric is listed twice');
  const id = createHash('sha256')
    .update(JSON.stringify({ v: KVMSIM_VERSION, p: points.map((p) => p.raw), seeds, metrics }))
    .digest('hex')
    .slice(0, 16);
  return {
    file,
    name: s.name ?? file.replace(/^.*\//, '').replace(/\.ya?ml$|\.json$/, ''),
    scenario: JSON.parse(JSON.stringify(raw)) as unknown,
    base: s.base,
    baseFile,
    grid,
    seeds,
    metrics,
    points,
    id,
  };
}

/** Whether the error field `field` (vms[2].apf) is the axis path `path` (vms[*].apf) for some element. */
function sameField(path: string, field: string): boolean {
  const re = new RegExp(
    `^${path
      .replace(/[.]/g, '\\.')
      .replace(/\[\*\]/g, '\\[\\d+\\]')
      .replace(/\[(\d+)\]/g, '\\[$1\\]')}(?:$|[.[])`,
  );
  return re.test(field);
}

export function loadSweep(file: string): Sweep {
  return parseSweep(readScenarioFile(file), file);
}
