// kvmsim as a library: `import { loadScenario, runScript, simulate, compare, explore, replay } from 'kvmsim'`
// (docs/api.md). The same functions the commands run (src/cli/), returning data instead of printing text:
// transcripts, metrics, comparisons, search outcomes. Bad input throws a ScenarioError/UsageError (one line
// naming the file and field, as on the command line); nothing here writes to stdout or calls process.exit.

import { DEFAULT_EXPLORE_MEM_BYTES } from './cli/explore_command.ts';
import {
  checkSavedCounterexample,
  prepareReplay,
  readSavedCounterexample,
  runReplay,
} from './cli/replay_load.ts';
import {
  parseS390Explore,
  runS390Explore,
  type ExploreOutcome as S390ExploreOutcome,
  type S390ExploreScenario,
} from './explore/s390/scenario.ts';
import type { ExploreWorldConfig } from './explore/x86/config.ts';
import {
  type Replay,
  replay as replaySteps,
  type SavedCounterexample,
  saveCounterexample,
} from './explore/x86/counterexample.ts';
import { type ExploreOutcome, runExplore } from './explore/x86/run.ts';
import { type ExploreScenario, parseExplore } from './explore/x86/scenario.ts';
import { BUG_NAMES, type BugName } from './host/x86/bugs.ts';
import { ERA_NAMES, type EraName } from './host/x86/era.ts';
import { readScenarioFile } from './scenario/load.ts';
import { checkSimResources, DEFAULT_MEMORY_BUDGET } from './scenario/resources.ts';
import { ScenarioError } from './scenario/scenario_error.ts';
import { StuckError, UsageError } from './scenario/usage_error.ts';
import { VERSION } from './scenario/version.ts';
import { parseScript } from './script/load_script.ts';
import { runScript as runX86Script } from './script/runner.ts';
import {
  parseS390Script,
  runS390Script,
  type TranscriptLine,
  transcriptHasFailures,
} from './script/s390_runner.ts';
import type { S390Script } from './script/s390_schema.ts';
import type { Script } from './script/schema.ts';
import { formatJsonLines, formatTable, type TranscriptRecord } from './script/transcript.ts';
import { type Comparison, compareVariants, formatComparison, variantGrid } from './sim/compare.ts';
import { parseSimScenario, type SimScenario, simWithVariants } from './sim/load_sim.ts';
import type { RunMetrics } from './sim/metrics.ts';
import { formatReport } from './sim/report.ts';
import { runSimulation } from './sim/run.ts';
import { runSimScenario, type SimReport } from './sim/s390/run.ts';
import { parseS390Sim, type S390SimScenario } from './sim/s390/scenario.ts';
import { APF_MODES, type ApfMode } from './sim/schema.ts';
import { resolveVariants } from './variant/load.ts';

// The variants API (docs/variants.md): what a variant module imports from 'kvmsim' (the run-time part is
// src/variant/kvmsim_api.ts, which the variant loader hands to a variant), and the types it names.
export type { GuestBehaviour, PageReadyOp } from './guest/x86/guest_behaviour.ts';
export type { EraConfig } from './host/x86/era.ts';
export type { X86KernelFnName, X86KernelFns } from './host/x86/kernel_fns.ts';
export type { MmuBehaviour } from './host/x86/mmu_era.ts';
export type { MmuHost } from './host/x86/mmu_notifier.ts';
export type { KvmVcpu } from './host/x86/vcpu.ts';
export type { KvmVm } from './host/x86/vm.ts';
export type { HostBehaviour, KernelHooks, Variant, VariantProperty, VariantView } from './variant/api.ts';
export * from './variant/kvmsim_api.ts';
export type {
  ApfMode,
  BugName,
  Comparison,
  EraName,
  ExploreOutcome,
  ExploreScenario,
  ExploreWorldConfig,
  Replay,
  RunMetrics,
  S390ExploreOutcome,
  S390ExploreScenario,
  S390Script,
  S390SimScenario,
  SavedCounterexample,
  Script,
  SimReport,
  SimScenario,
  TranscriptLine,
  TranscriptRecord,
};
export {
  APF_MODES,
  BUG_NAMES,
  ERA_NAMES,
  formatComparison,
  formatJsonLines,
  formatReport,
  formatTable,
  ScenarioError,
  StuckError,
  UsageError,
  VERSION,
};

/** A script with its loaded variants (none: the field stays absent, so the script is unchanged). */
const withVariants = (s: Script, variants: string[]): Script =>
  variants.length > 0 ? { ...s, variants } : s;

/**
 * Loads the variant modules a scenario names (relative to its file) and `extra` ones (relative to the
 * working directory), as `kvmsim … --variant` does; the scenario returned names them so that runScript,
 * simulate, compare and explore apply them. A variant is code run in this process: load only what you trust.
 */
export async function loadScenarioVariants(sc: Scenario, extra: readonly string[] = []): Promise<Scenario> {
  const file = sc.file === '(data)' ? null : sc.file;
  if (sc.arch === 's390') {
    if (extra.length > 0) throw new UsageError(`${sc.file}: variants: x86 scenarios only`);
    return sc;
  }
  if (sc.kind === 'script')
    return {
      ...sc,
      script: withVariants(sc.script, await resolveVariants(sc.script.variants ?? [], file, extra)),
    };
  if (sc.kind === 'sim') return { ...sc, scenario: await simWithVariants(sc.scenario, file, extra) };
  return {
    ...sc,
    config: { ...sc.config, variants: await resolveVariants(sc.config.variants ?? [], file, extra) },
  };
}

/** A loaded, validated scenario: what `loadScenario` returns and the other functions take. */
export type Scenario =
  | { readonly kind: 'script'; readonly arch: 'x86'; readonly file: string; readonly script: Script }
  | { readonly kind: 'script'; readonly arch: 's390'; readonly file: string; readonly script: S390Script }
  | { readonly kind: 'sim'; readonly arch: 'x86'; readonly file: string; readonly scenario: SimScenario }
  | { readonly kind: 'sim'; readonly arch: 's390'; readonly file: string; readonly scenario: S390SimScenario }
  | {
      readonly kind: 'explore';
      readonly arch: 'x86';
      readonly file: string;
      readonly scenario: ExploreScenario;
      readonly config: ExploreWorldConfig;
      /** The scenario as read (saved with a counterexample, so `replay` can rebuild it). */
      readonly raw: unknown;
    }
  | {
      readonly kind: 'explore';
      readonly arch: 's390';
      readonly file: string;
      readonly scenario: S390ExploreScenario;
    };

export type ScenarioKind = Scenario['kind'];

/** Scenario data given directly instead of a file: what a YAML/JSON scenario file parses to. */
export interface ScenarioData {
  readonly data: unknown;
  /** The name error messages give it, as they give a file's name (default "(data)"). */
  readonly name?: string;
}

export interface LoadOptions {
  /** x86 scripts: the host kernel era, overriding the scenario's (as `kvmsim script --era`). */
  readonly era?: EraName;
  /** x86 scripts: historical bugs switched on, added to the scenario's (as `kvmsim script --bug`). */
  readonly bugs?: readonly BugName[];
}

const KINDS: readonly ScenarioKind[] = ['script', 'sim', 'explore'];

/**
 * Reads and validates a scenario: a YAML or JSON file's path, or `{ data }` already parsed. Its `kind`
 * (script, sim, explore) and `arch` (x86, the default, or s390) say what it is.
 */
export function loadScenario(source: string | ScenarioData, opts: LoadOptions = {}): Scenario {
  const file = typeof source === 'string' ? source : (source.name ?? '(data)');
  // Integers of x86 scripts and explore scenarios are read as bigints (64-bit MSR data and addresses).
  const read = (bigint: boolean): unknown =>
    typeof source === 'string' ? readScenarioFile(source, { bigint }) : source.data;
  const raw = read(false);
  const top = (raw !== null && typeof raw === 'object' ? raw : {}) as { kind?: unknown; arch?: unknown };
  const kind = top.kind as ScenarioKind;
  if (!KINDS.includes(kind))
    throw new ScenarioError(
      file,
      'kind',
      `expected one of ${KINDS.join(', ')}, got ${top.kind === undefined ? 'nothing' : JSON.stringify(top.kind)}`,
    );
  if ((opts.era !== undefined || opts.bugs !== undefined) && (kind !== 'script' || top.arch === 's390'))
    throw new UsageError(`${file}: era and bugs: x86 scripts only (for sims, set them in the scenario)`);
  if (top.arch === 's390') {
    if (kind === 'script') return { kind, arch: 's390', file, script: parseS390Script(raw, file) };
    if (kind === 'sim') return { kind, arch: 's390', file, scenario: parseS390Sim(raw, file) };
    return { kind, arch: 's390', file, scenario: parseS390Explore(raw, file) };
  }
  if (kind === 'sim') return { kind, arch: 'x86', file, scenario: parseSimScenario(raw, file) };
  const wide = read(true);
  if (kind === 'explore') return { kind, arch: 'x86', file, ...parseExplore(wide, file), raw: wide };
  if (wide !== null && typeof wide === 'object' && !Array.isArray(wide)) {
    const r = (typeof source === 'string' ? wide : { ...wide }) as { era?: string; bugs?: unknown };
    if (opts.era !== undefined) r.era = opts.era;
    if (opts.bugs !== undefined && opts.bugs.length > 0)
      r.bugs = [...new Set([...(Array.isArray(r.bugs) ? r.bugs : []), ...opts.bugs])];
    return { kind, arch: 'x86', file, script: parseScript(r, file) };
  }
  return { kind, arch: 'x86', file, script: parseScript(wide, file) };
}

function load<K extends ScenarioKind>(
  what: string,
  s: Scenario | string,
  kind: K,
): Extract<Scenario, { kind: K }> {
  const sc = typeof s === 'string' ? loadScenario(s) : s;
  if (sc.kind !== kind)
    throw new UsageError(`${sc.file}: ${what} needs a kind: ${kind} scenario, got kind: ${sc.kind}`);
  return sc as Extract<Scenario, { kind: K }>;
}

export interface ScriptOptions {
  /** Put the tracepoints in the transcript (`kvmsim script --trace-events`). */
  readonly traceEvents?: boolean;
  /** x86: also collect the tracepoints as ftrace text lines (`--ftrace`). */
  readonly ftrace?: boolean;
}

export type ScriptResult =
  | {
      readonly arch: 'x86';
      /** The normalized transcript: one record per op (and tracepoint, with traceEvents). */
      readonly records: TranscriptRecord[];
      /** ftrace text lines (with `ftrace`; else empty). */
      readonly ftrace: string[];
    }
  | {
      readonly arch: 's390';
      readonly lines: TranscriptLine[];
      /** Whether an `expect` of the script failed (`kvmsim script` exits 1). */
      readonly failed: boolean;
    };

/** Runs a `kind: script` scenario on the model and returns its transcript (`kvmsim script`). */
export function runScript(s: Scenario | string, opts: ScriptOptions = {}): ScriptResult {
  const sc = load('runScript', s, 'script');
  if (sc.arch === 's390') {
    const lines = runS390Script(sc.script, { traceEvents: opts.traceEvents });
    return { arch: 's390', lines, failed: transcriptHasFailures(lines) };
  }
  const { records, ftrace } = runX86Script(sc.script, {
    traceEvents: opts.traceEvents,
    ftrace: opts.ftrace,
  });
  return { arch: 'x86', records, ftrace };
}

export interface SimulateOptions {
  /** The root seed of the random streams, overriding the scenario's (`kvmsim run --seed`). */
  readonly seed?: number;
  /** x86: stop after this many events (the metrics are then partial: `stopped` says so). */
  readonly maxEvents?: number;
  /** x86: asked every 65,536 events; true stops the run (partial metrics). */
  readonly shouldStop?: () => boolean;
  /** x86: called with the fraction of virtual time simulated. */
  readonly onProgress?: (fraction: number) => void;
  /** x86: run a scenario whose estimated memory is above 4 GiB (`--allow-large`). */
  readonly allowLarge?: boolean;
}

export type SimulateResult =
  | {
      readonly arch: 'x86';
      readonly metrics: RunMetrics;
      /** Why the run stopped early ('max-events', 'stopped'), or null: it simulated the whole duration. */
      readonly stopped: string | null;
      readonly events: number;
      readonly virtualTimeNs: number;
    }
  | { readonly arch: 's390'; readonly report: SimReport };

/** Simulates a `kind: sim` scenario and returns its metrics (`kvmsim run`). */
export function simulate(s: Scenario | string, opts: SimulateOptions = {}): SimulateResult {
  const sc = load('simulate', s, 'sim');
  if (sc.arch === 's390')
    return {
      arch: 's390',
      report: runSimScenario(sc.scenario, opts.seed !== undefined ? { seeds: [opts.seed] } : {}),
    };
  const scenario = opts.seed !== undefined ? { ...sc.scenario, seed: opts.seed } : sc.scenario;
  checkSimResources(scenario, opts.allowLarge ? Number.POSITIVE_INFINITY : DEFAULT_MEMORY_BUDGET);
  const { sim, metrics } = runSimulation(scenario, {
    onProgress: opts.onProgress ?? null,
    shouldStop: opts.shouldStop ?? null,
    ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}),
  });
  return { arch: 'x86', metrics, stopped: sim.stopped, events: sim.events, virtualTimeNs: sim.endTime };
}

export interface CompareOptions {
  /** APF protocol modes; the first is the baseline. Default off, sync, legacy, interrupt (unless eras or whatIf are given). */
  readonly modes?: readonly ApfMode[];
  /** Host eras to run every VM under. */
  readonly eras?: readonly EraName[];
  /** Switch sets added to every VM's bugs ([] is the faithful model). */
  readonly whatIf?: readonly (readonly BugName[])[];
  /**
   * Variant modules to compare (docs/variants.md): one column per entry after the scenario as written
   * ("base"), each entry a list of files stacked in it (relative to the working directory); loaded here.
   */
  readonly variants?: readonly (readonly string[])[];
  /** Seeds per variant: the scenario's seed, seed+1, … (default 5). */
  readonly seeds?: number;
  /** The first seed, overriding the scenario's. */
  readonly seed?: number;
  readonly maxEvents?: number;
  readonly shouldStop?: () => boolean;
  readonly onProgress?: (fraction: number) => void;
  readonly allowLarge?: boolean;
}

/** Runs an x86 `kind: sim` scenario under several modes, eras or switches and seeds (`kvmsim compare`). */
export async function compareWithVariants(
  s: Scenario | string,
  opts: CompareOptions = {},
): Promise<Comparison> {
  const sc = await loadScenarioVariants(load('compare', s, 'sim'));
  const columns =
    opts.variants === undefined
      ? undefined
      : await Promise.all(opts.variants.map((files) => resolveVariants([], null, files)));
  return compare(sc, { ...opts, ...(columns !== undefined ? { variants: columns } : {}) });
}

/**
 * Runs an x86 `kind: sim` scenario under several modes, eras or switches and seeds (`kvmsim compare`).
 * Variants (opts.variants, the scenario's) must be loaded first: loadScenarioVariants, or use
 * compareWithVariants, which loads them.
 */
export function compare(s: Scenario | string, opts: CompareOptions = {}): Comparison {
  const sc = load('compare', s, 'sim');
  if (sc.arch !== 'x86') throw new UsageError(`${sc.file}: compare: x86 sim scenarios only`);
  const varied = opts.eras !== undefined || opts.whatIf !== undefined || opts.variants !== undefined;
  const modes = opts.modes ?? (varied ? null : (['off', 'sync', 'legacy', 'interrupt'] as const));
  const scenario = opts.seed !== undefined ? { ...sc.scenario, seed: opts.seed } : sc.scenario;
  const seeds = opts.seeds ?? 5;
  if (!Number.isInteger(seeds) || seeds < 1 || seeds > 1000)
    throw new UsageError(`seeds: expected an integer 1..1000, got ${seeds}`);
  checkSimResources(scenario, opts.allowLarge ? Number.POSITIVE_INFINITY : DEFAULT_MEMORY_BUDGET);
  const variants = variantGrid(
    modes,
    opts.eras ?? null,
    opts.whatIf ?? null,
    opts.variants !== undefined ? [[], ...opts.variants] : null,
  );
  return compareVariants(scenario, variants, seeds, opts.onProgress ?? null, {
    ...(opts.shouldStop ? { shouldStop: opts.shouldStop } : {}),
    ...(opts.maxEvents !== undefined ? { maxEvents: opts.maxEvents } : {}),
  });
}

export interface ExploreOptions {
  /** Breadth-first (shortest counterexamples) or depth-first; default the scenario's. */
  readonly strategy?: 'bfs' | 'dfs';
  /** Stop after storing this many states (default the scenario's search.max_states). */
  readonly maxStates?: number;
  /** Stop before the state store passes this many bytes (default the scenario's, else 1 GiB). */
  readonly maxMemBytes?: number;
  /** x86: false turns symmetry or partial-order reduction off (`--no-symmetry`, `--no-por`). */
  readonly symmetry?: boolean;
  readonly por?: boolean;
  /** Asked every 65,536 states; true ends the search as a budget. */
  readonly shouldStop?: () => boolean;
}

export type ExploreResult =
  | {
      readonly arch: 'x86';
      readonly outcome: ExploreOutcome;
      /** With a counterexample: its steps replayed, and the JSON `kvmsim explore --save` writes. */
      readonly replay?: Replay;
      readonly saved?: SavedCounterexample;
    }
  | { readonly arch: 's390'; readonly outcome: S390ExploreOutcome };

/** Explores every interleaving of a `kind: explore` scenario and checks its properties (`kvmsim explore`). */
export function explore(s: Scenario | string, opts: ExploreOptions = {}): ExploreResult {
  const sc = load('explore', s, 'explore');
  if (sc.arch === 's390')
    return {
      arch: 's390',
      outcome: runS390Explore(sc.scenario, {
        strategy: opts.strategy,
        maxStates: opts.maxStates,
        maxMemBytes: opts.maxMemBytes ?? DEFAULT_EXPLORE_MEM_BYTES,
        ...(opts.shouldStop ? { shouldStop: opts.shouldStop } : {}),
      }),
    };
  const search = sc.scenario.search;
  const strategy = opts.strategy ?? search.strategy;
  // A swarm runs on the worker pool, asynchronously: `kvmsim explore` (src/cli/explore_swarm.ts).
  if (strategy === 'swarm')
    throw new UsageError(
      `${typeof s === 'string' ? s : 'scenario'}: search.strategy swarm runs on the worker pool; use \`kvmsim explore\` or pass strategy bfs, dfs or bitstate`,
    );
  const outcome = runExplore(sc.config, {
    strategy,
    maxStates: opts.maxStates ?? search.max_states,
    maxMemBytes: opts.maxMemBytes ?? search.max_mem ?? DEFAULT_EXPLORE_MEM_BYTES,
    symmetry: opts.symmetry !== false && search.symmetry,
    por: opts.por !== false && search.por,
    ...(opts.shouldStop ? { shouldStop: opts.shouldStop } : {}),
  });
  const cx = outcome.counterexample;
  if (!cx) return { arch: 'x86', outcome };
  const steps = replaySteps(sc.config, cx);
  return { arch: 'x86', outcome, replay: steps, saved: saveCounterexample(sc.raw, steps, cx) };
}

export interface ReplayResult {
  readonly replay: Replay;
  /** Whether the recorded property fails again (`kvmsim replay` exits 1). */
  readonly reproduced: boolean;
  /** The lines `kvmsim replay` prints first and last. */
  readonly header: string;
  readonly verdict: string;
}

/**
 * Re-runs a counterexample saved by `kvmsim explore --save` (a file) or returned by `explore` (`saved`)
 * through the same steps on the model (`kvmsim replay`).
 */
export function replay(saved: SavedCounterexample | string): ReplayResult {
  const file = typeof saved === 'string' ? saved : '(counterexample)';
  const s =
    typeof saved === 'string' ? readSavedCounterexample(saved) : checkSavedCounterexample(saved, file);
  const out = runReplay(s, prepareReplay(s, file), file);
  return { replay: out.replay, reproduced: out.reproduced, header: out.header, verdict: out.verdict };
}
