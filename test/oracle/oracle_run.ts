// Runs oracle scenarios on both backends: the distinct scripts on /dev/kvm (batched, a few worker
// processes, one fresh VM per script) and on the model, and judges each pair. Shared by the live suite
// and scripts/oracle-record.ts, so what is recorded is exactly what the suite checks.
import { type KvmRunResult, runScriptsOnKvm } from '../../src/oracle/backend.ts';
import type { HostFingerprint } from '../../src/oracle/fingerprint.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { comparable } from '../../src/script/transcript_diff.ts';
import { type OracleScenario, scriptHash, scriptKey } from './catalogue.ts';
import { canonical, type Recorded, sameRecords } from './fixture.ts';

export interface OracleOutcome {
  scenario: OracleScenario;
  kernel: KvmRunResult;
  /** The model's transcript as `kvmsim diff` compares it. */
  model: TranscriptRecord[];
}

export interface OracleRun {
  outcomes: OracleOutcome[];
  /** Scenarios that agreed only when run again (timing-dependent scripts on a loaded machine). */
  retried: Array<{ name: string; attempts: number; first: string }>;
  fingerprint: HostFingerprint | undefined;
  /** Distinct scripts run on each backend. */
  distinct: number;
  /** Wall time of the kernel runs. */
  kernelSeconds: number;
}

/**
 * When a disagreement can be the machine's fault rather than the model's, the script is run again
 * alone, up to RETRIES times, and a scenario that then agrees is reported as retried: scripts with
 * backing delays (on a loaded machine KVM's async worker can be scheduled 100 ms and more after its
 * page arrives, later than `run` waits for it, so its completion lands after the script's end), and
 * kernel runs that crashed or hung.
 */
const RETRIES = 2;
const mayRetry = (o: OracleOutcome) =>
  o.kernel.status === 'crash' ||
  o.kernel.status === 'hang' ||
  o.scenario.script.ops.some((op) => op.op === 'touch' && op.backing);

export async function runOracle(
  scenarios: readonly OracleScenario[],
  opts: { parallel?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<OracleRun> {
  const keys = scenarios.map((s) => scriptKey(s.script));
  const first = new Map<string, number>();
  keys.forEach((k, i) => {
    if (!first.has(k)) first.set(k, i);
  });
  const distinct = [...first.values()];
  const started = performance.now();
  const kernel = await runScriptsOnKvm(
    distinct.map((i) => ({ script: scenarios[i]!.script })),
    opts,
  );
  const kernelSeconds = (performance.now() - started) / 1000;
  const byKey = new Map<string, { kernel: KvmRunResult; model: TranscriptRecord[] }>();
  distinct.forEach((i, j) => {
    byKey.set(keys[i]!, { kernel: kernel[j]!, model: comparable(runScript(scenarios[i]!.script).records) });
  });
  const retried: OracleRun['retried'] = [];
  for (const i of distinct) {
    const key = keys[i]!;
    const s = scenarios[i]!;
    const first = disagreement({ scenario: s, ...byKey.get(key)! });
    if (!first || !mayRetry({ scenario: s, ...byKey.get(key)! })) continue;
    for (let attempt = 1; attempt <= RETRIES; attempt++) {
      const [again] = await runScriptsOnKvm([{ script: s.script }], { ...opts, parallel: 1 });
      const o = { ...byKey.get(key)!, kernel: again! };
      byKey.set(key, o);
      if (!disagreement({ scenario: s, ...o })) {
        retried.push({ name: s.name, attempts: attempt + 1, first });
        break;
      }
    }
  }
  const outcomes = scenarios.map((scenario, i) => ({ scenario, ...byKey.get(keys[i]!)! }));
  const fp = kernel.find((r) => 'fingerprint' in r && r.fingerprint)?.fingerprint;
  return { outcomes, retried, fingerprint: fp, distinct: distinct.length, kernelSeconds };
}

/**
 * What is wrong with an outcome, or null: the kernel's transcript must equal the model's, except for
 * a deliberate difference, where it must not (a difference that went away should be moved to cases/).
 */
export function disagreement(o: OracleOutcome): string | null {
  const k = o.kernel;
  if (k.status === 'skipped') return null;
  if (!('records' in k) || k.status === 'crash') return `kernel backend ${k.status}: ${k.reason}`;
  const same = sameRecords(o.model, k.records);
  if (o.scenario.difference !== undefined)
    return same ? 'recorded as a deliberate difference, but the backends now agree' : null;
  if (same) return null;
  return firstDifference(o.model, k.records) + (k.status === 'hang' ? ` (kernel run hung: ${k.reason})` : '');
}

/** The first differing record, as `kvmsim diff` would print it. */
export function firstDifference(
  model: readonly TranscriptRecord[],
  kernel: readonly TranscriptRecord[],
): string {
  const n = Math.max(model.length, kernel.length);
  for (let i = 0; i < n; i++) {
    if (canonical(model[i]) !== canonical(kernel[i]))
      return `record ${i}: model ${JSON.stringify(model[i] ?? '(end)')}, kernel ${JSON.stringify(kernel[i] ?? '(end)')}`;
  }
  return 'no difference';
}

/** The fixture entry for an outcome (throws for results that are not recordable facts). */
export function recordOf(o: OracleOutcome): Recorded {
  const k = o.kernel;
  const script = scriptHash(o.scenario.script);
  switch (k.status) {
    case 'skipped':
      return { script, status: 'skipped', reason: k.reason };
    case 'hang':
      return { script, status: 'hang', reason: k.reason, transcript: k.records };
    case 'ok': {
      const r: Recorded = { script, status: 'ok', guest: k.guest, transcript: k.records };
      if (o.scenario.difference !== undefined) {
        r.difference = o.scenario.difference;
        r.model = o.model;
      }
      return r;
    }
    default:
      throw new Error(`${o.scenario.name}: kernel backend ${k.status}: ${k.reason}`);
  }
}

/** What the model must produce for a recorded entry, or null when the entry has no transcript. */
export function expectedModel(r: Recorded): TranscriptRecord[] | null {
  if (r.status === 'skipped') return null;
  if (r.status === 'ok' && r.difference !== undefined) return r.model ?? [];
  return r.transcript;
}

/** Counts per group, for reports: "matrix 2106 (1092 distinct)…". */
export function countByGroup(outcomes: readonly OracleOutcome[]): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const o of outcomes) {
    const g = out[o.scenario.group] ?? {};
    g[o.kernel.status] = (g[o.kernel.status] ?? 0) + 1;
    out[o.scenario.group] = g;
  }
  return out;
}
