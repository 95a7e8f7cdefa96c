// What `kvmsim report` reads: a sweep output directory (summary.json, points.jsonl), a `kvmsim compare
// --json` file or a `kvmsim run --json` file, told apart by their shape (docs/report.md, "Inputs"). A file
// that is none of them is one line naming it and what is allowed (UsageError, exit 2); a sweep or compare
// file with a bad field is one line naming the file and the field (validateScenario's wording).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { validateScenario } from '../scenario/load.ts';
import { UsageError } from '../scenario/usage_error.ts';

const ALLOWED =
  'expected a `kvmsim sweep` output directory (with summary.json), a `kvmsim compare --json` file or a `kvmsim run --json` file';

/** A grid value as the sweep wrote it (any JSON value a scenario field takes: a number, `8GiB`, `off`...). */
export type GridValue = unknown;

const gridValue = z.unknown();
/** JSON numbers; NaN (a metric that does not apply) is written as null. */
const num = z.number().nullable();

const SweepSummarySchema = z.object({
  kind: z.literal('sweep'),
  version: z.string(),
  scenario: z.unknown(),
  base: z.string(),
  grid: z.array(z.object({ path: z.string().min(1), values: z.array(gridValue).min(1) })).min(1),
  seeds: z.array(z.number()),
  metrics: z.array(z.string().min(1)).min(1),
  points: z.array(
    z.object({
      pointIndex: z.number().int().min(0),
      point: z.record(z.string(), gridValue),
      n: z.number().int().min(0),
      mean: z.record(z.string(), num),
      ci95: z.record(z.string(), z.tuple([num, num]).nullable()),
    }),
  ),
});
export type SweepSummary = z.output<typeof SweepSummarySchema>;

const SweepRowSchema = z.object({
  pointIndex: z.number().int().min(0),
  point: z.record(z.string(), gridValue),
  seed: z.number(),
  metrics: z.record(z.string(), num),
});
export type SweepRow = z.output<typeof SweepRowSchema>;

const summarySchema = z.object({ mean: num, ci95: num, ratio: num, values: z.array(num) });
const CompareSchema = z.object({
  scenario: z.string(),
  seeds: z.array(z.number()).min(1),
  modes: z
    .array(
      z.object({
        mode: z.string().optional(),
        variant: z.string().optional(),
        era: z.string().optional(),
        bugs: z.array(z.string()).optional(),
        metrics: z.record(z.string(), summarySchema),
      }),
    )
    .min(1),
  notes: z.array(z.object({ text: z.string() })).default([]),
});
export type CompareInput = z.output<typeof CompareSchema>;

const latency = z.object({
  count: z.number(),
  mean_us: z.number().nullable(),
  p50_us: z.number().nullable(),
  p95_us: z.number().nullable(),
  p99_us: z.number().nullable(),
  max_us: z.number().nullable(),
});
const vcpuTime = z.record(z.string(), z.number());
const part = z.object({
  vcpus: z.number(),
  tasks: z.number(),
  work: z.object({ task_cpu_rate: z.number(), bursts_per_s: z.number() }),
  vcpu_time: vcpuTime,
  page_ready: latency,
});
const RunSchema = z.object({
  scenario: z.string(),
  seed: z.number(),
  simulated_s: z.number(),
  measured_s: z.number(),
  partial: z.object({ budget: z.string() }).optional(),
  host: z.object({ swap: z.object({ service: latency, wait: latency }) }),
  total: part,
  groups: z.array(part.extend({ name: z.string(), apf: z.string() })),
  vms: z.array(part.extend({ name: z.string(), apf: z.string(), era: z.string() })),
});
export type RunInput = z.output<typeof RunSchema>;

export type ReportInput =
  | { kind: 'sweep'; name: string; summary: SweepSummary; rows: SweepRow[]; raw: unknown }
  | { kind: 'compare'; name: string; compare: CompareInput; raw: unknown }
  | { kind: 'run'; name: string; run: RunInput; raw: unknown };

function readJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not JSON; ${ALLOWED}`);
  }
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(`${file}: cannot read it (${code ?? 'error'}); ${ALLOWED}`);
  }
}

/** The points.jsonl rows of a sweep directory (none when the file is absent). */
function readRows(dir: string): SweepRow[] {
  const file = join(dir, 'points.jsonl');
  if (!existsSync(file)) return [];
  const rows: SweepRow[] = [];
  readText(file)
    .split('\n')
    .forEach((line, i) => {
      if (line.trim() === '') return;
      rows.push(validateScenario(`${file}:${i + 1}`, readJson(`${file}:${i + 1}`, line), SweepRowSchema));
    });
  return rows;
}

/**
 * Reads `path` and tells what it is. `name` is what the report calls it: the scenario's name (run,
 * compare) or the sweep's (its scenario's `name`, else the directory's base name).
 */
export function loadReportInput(path: string): ReportInput {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new UsageError(`${path}: no such file or directory; ${ALLOWED}`);
  }
  if (st.isDirectory()) {
    const file = join(path, 'summary.json');
    if (!existsSync(file))
      throw new UsageError(
        `${path}: a directory without summary.json (a sweep writes it when its last point is done); ${ALLOWED}`,
      );
    const raw = readJson(file, readText(file));
    if ((raw as { kind?: unknown } | null)?.kind !== 'sweep')
      throw new UsageError(`${file}: not a sweep summary (no "kind": "sweep"); ${ALLOWED}`);
    const summary = validateScenario(file, raw, SweepSummarySchema);
    const rows = readRows(path);
    const scenarioName = (summary.scenario as { name?: unknown } | null)?.name;
    const name =
      typeof scenarioName === 'string' ? scenarioName : (path.replace(/\/+$/, '').split('/').at(-1) ?? path);
    return { kind: 'sweep', name, summary, rows, raw };
  }
  const raw = readJson(path, readText(path));
  if (raw !== null && typeof raw === 'object' && !Array.isArray(raw)) {
    const o = raw as Record<string, unknown>;
    if (o.kind === 'sweep')
      throw new UsageError(`${path}: a sweep's summary.json: give its directory instead; ${ALLOWED}`);
    if (Array.isArray(o.modes) && 'seeds' in o) {
      const compare = validateScenario(path, raw, CompareSchema);
      return { kind: 'compare', name: compare.scenario, compare, raw };
    }
    if ('total' in o && 'vms' in o) {
      const run = validateScenario(path, raw, RunSchema);
      return { kind: 'run', name: run.scenario, run, raw };
    }
  }
  throw new UsageError(`${path}: not a kvmsim result; ${ALLOWED}`);
}
