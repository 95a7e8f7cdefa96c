// `kvmsim explore FILE`: explore every interleaving of a `kind: explore` scenario up to its bounds and
// check its properties. Exit 0 the properties hold up to the bound, 1 a counterexample was found, 2 bad
// input, 3 a budget ran out first.
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).
import type { Command } from 'commander';
import { BITSTATE_MAX_BITS, BITSTATE_MIN_BITS } from '../explore/bitstate.ts';
import type { ExploreOutcome } from '../explore/x86/run.ts';
import { UsageError } from '../scenario/usage_error.ts';
import { DEFAULT_MAX_TIME, deadline, parseMaxTime } from './budget_flags.ts';
import { budgetName, counterexampleJson, exploreJsonLine } from './explore_json.ts';
import { type OutputFile, openOutput } from './output_file.ts';
import { collect, VARIANT_HELP, variantFiles } from './scenario_flags.ts';

export const EXIT_OK = 0;
export const EXIT_COUNTEREXAMPLE = 1;
export const EXIT_BUDGET = 3;

/**
 * The search's memory budget when neither --max-mem nor the scenario's search.max_mem gives one: 1 GiB of
 * state store (about 650,000 x86 states at ~1.6 KB each; the process's RSS is about 2.5 times the store,
 * with the liveness pass's own set), well below a 24 GiB machine's RAM.
 */
export const DEFAULT_EXPLORE_MEM_BYTES = 2 ** 30;

interface ExploreFlags {
  bfs?: boolean;
  dfs?: boolean;
  bitstate?: string;
  maxStates?: string;
  maxMem?: string;
  json?: boolean;
  save?: string;
  symmetry?: boolean;
  por?: boolean;
  timing?: boolean;
  maxTime: string;
  variant?: string[];
  collapse?: boolean;
  vcpuSymmetry?: boolean;
  swarm?: string;
  swarmSeed?: string;
  jobs?: string;
}

function positiveInt(flag: string, v: string, max: number): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new UsageError(`${flag}: expected an integer 1..${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function bitsFlag(v: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < BITSTATE_MIN_BITS || Number(v) > BITSTATE_MAX_BITS)
    throw new UsageError(
      `--bitstate: expected an integer ${BITSTATE_MIN_BITS}..${BITSTATE_MAX_BITS} (log2 of the bits), got ${JSON.stringify(v)}`,
    );
  return Number(v);
}

function statsLine(o: ExploreOutcome, timing: boolean): string {
  const s = o.safety;
  const ms = timing ? o.safetyMillis : undefined;
  const rate = ms !== undefined && ms > 0 ? `, ${Math.round((s.states / ms) * 1000)} states/s` : '';
  const time = ms !== undefined ? `, ${(ms / 1000).toFixed(2)} s` : '';
  const lms = o.millis !== undefined && ms !== undefined ? `, ${((o.millis - ms) / 1000).toFixed(2)} s` : '';
  const live = o.liveness
    ? `; liveness pass: ${o.liveness.states} states, ${o.liveness.edges} protocol edges${lms}`
    : '';
  const b = o.bitstate;
  const bits = b
    ? `; bitstate: 2^${Math.log2(b.bitsTotal)} bits, ${b.hashes} per state, hash factor ${Math.round(b.hashFactor)}, estimated omission probability ${b.omissionProbability.toExponential(1)}`
    : '';
  return `safety search: ${s.states} states, ${s.transitions} transitions, depth ${s.maxDepth}, ${o.stateWords} words/state, ${Math.round(s.bytesPerState)} B/state${time}${rate}${live}${bits}`;
}

export function register(program: Command): void {
  program
    .command('explore')
    .description('explore every interleaving of a `kind: explore` scenario and check its properties')
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option('--bfs', 'breadth-first search: shortest counterexamples (the default)')
    .option('--dfs', 'depth-first search')
    .option(
      '--bitstate <bits>',
      `bitstate (supertrace) search: remember states as 3 bits each in 2^bits bits (${BITSTATE_MIN_BITS}..${BITSTATE_MAX_BITS}; 30 = 128 MiB), not their encodings; an "ok" covers the states reached (x86)`,
    )
    .option(
      '--max-states <n>',
      "stop after storing this many states (overrides the scenario's search.max_states)",
    )
    .option('--max-mem <MB>', 'stop before the search allocates more than this many MiB')
    .option('--json', 'print the result as one JSON object')
    .option('--save <file>', 'write the counterexample as JSON, for `kvmsim replay` (nothing without one)')
    .option(
      '--max-time <duration>',
      'stop the search after this much wall-clock time (exit 3)',
      DEFAULT_MAX_TIME,
    )
    .option('--timing', 'also print wall-clock times and states/s (they differ from run to run)')
    .option('--no-symmetry', 'store every task permutation (no symmetry reduction)')
    .option('--no-por', 'expand every enabled step (no partial-order reduction)')
    .option('--variant <files>', VARIANT_HELP, collect, [])
    .option(
      '--collapse',
      "store states collapse-compressed (spin's COLLAPSE: each distinct part once, a state a vector of part ids): fewer bytes per state, the same states and results",
    )
    .option(
      '--vcpu-symmetry',
      'also treat interchangeable vCPUs as one (Linux ≥5.8 guest, every vCPU running the same tasks, no mmu:/maps:/environment steps; off otherwise)',
    )
    .option(
      '--swarm <n>',
      'swarm search: n independent bitstate searches with diversified orders, hashes and depth bounds, on the worker pool (x86; docs/explorer.md "Swarm search")',
    )
    .option('--swarm-seed <n>', "the swarm's seed (default: the scenario's search.swarm_seed, 1)")
    .option('--jobs <n>', 'with a swarm: searches at a time, each on a thread (default: one per core)')
    .action(async (file: string, flags: ExploreFlags) => {
      if (
        [flags.bfs, flags.dfs, flags.bitstate !== undefined, flags.swarm !== undefined].filter(Boolean)
          .length > 1
      )
        throw new UsageError('--bfs, --dfs, --bitstate and --swarm: choose one');
      const swarmFlag = flags.swarm !== undefined ? positiveInt('--swarm', flags.swarm, 1024) : undefined;
      const swarmSeedFlag =
        flags.swarmSeed !== undefined
          ? /^[0-9]+$/.test(flags.swarmSeed) && Number(flags.swarmSeed) <= 2 ** 31 - 1
            ? Number(flags.swarmSeed)
            : (() => {
                throw new UsageError(
                  `--swarm-seed: expected an integer 0..${2 ** 31 - 1}, got ${JSON.stringify(flags.swarmSeed)}`,
                );
              })()
          : undefined;
      const jobsFlag = flags.jobs !== undefined ? positiveInt('--jobs', flags.jobs, 1024) : undefined;
      const bitstateBits = flags.bitstate !== undefined ? bitsFlag(flags.bitstate) : undefined;
      const maxStates =
        flags.maxStates !== undefined ? positiveInt('--max-states', flags.maxStates, 2 ** 28) : undefined;
      const maxMemMb =
        flags.maxMem !== undefined ? positiveInt('--max-mem', flags.maxMem, 1 << 20) : undefined;
      const maxTimeMs = parseMaxTime(flags.maxTime);
      const timing = flags.timing === true;
      const { s390FileKind } = await import('./s390_kind.ts');
      if (s390FileKind(file) !== null) {
        if (bitstateBits !== undefined) throw new UsageError('--bitstate: x86 explore scenarios only');
        if ((flags.variant ?? []).length > 0) throw new UsageError('--variant: x86 scenarios only');
        if (swarmFlag !== undefined) throw new UsageError('--swarm: x86 explore scenarios only');
        // arch: s390 explore scenarios (docs/s390.md), on the same engine; --save writes the same envelope
        // as x86 (its embedded scenario says arch: s390, which is how `kvmsim replay` dispatches).
        const s390Save = flags.save !== undefined ? openOutput('--save', flags.save, [file]) : null;
        const { exploreS390 } = await import('./s390_adapter.ts');
        const r = exploreS390(file, {
          strategy: flags.dfs ? 'dfs' : flags.bfs ? 'bfs' : undefined,
          maxStates,
          maxMemBytes: maxMemMb !== undefined ? maxMemMb * 2 ** 20 : DEFAULT_EXPLORE_MEM_BYTES,
          json: flags.json,
          timing,
          shouldStop: deadline(maxTimeMs),
        });
        saveIfFound(s390Save, r.saved);
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      const [{ renderReplay, replay, saveCounterexample }, { runExplore }, { loadExplore }] =
        await Promise.all([
          import('../explore/x86/counterexample.ts'),
          import('../explore/x86/run.ts'),
          import('../explore/x86/scenario.ts'),
        ]);
      const loaded = loadExplore(file);
      const { scenario } = loaded;
      let { config, raw } = loaded;
      const extra = variantFiles(flags.variant);
      if (extra.length > 0 || (config.variants ?? []).length > 0) {
        // The variants named relative to the working directory, in the config and in what --save keeps.
        const { resolveVariants } = await import('../variant/load.ts');
        const variants = await resolveVariants(config.variants ?? [], file, extra);
        config = { ...config, variants };
        raw = { ...(raw as object), variants };
      }
      // The variants applied, by name (docs/variants.md): in the heading and in the JSON.
      const shows = await import('./explore_property.ts');
      const variantNames = shows.variantNames(config);
      const heading = shows.exploreHeading(scenario.name ?? file, variantNames);
      const search = scenario.search;
      const saveOut = flags.save !== undefined ? openOutput('--save', flags.save, [file]) : null;
      const swarmSearches =
        swarmFlag ??
        (search.strategy === 'swarm' && !flags.bfs && !flags.dfs && bitstateBits === undefined
          ? search.swarm_searches
          : undefined);
      if (swarmSearches === undefined && jobsFlag !== undefined)
        throw new UsageError('--jobs: only with a swarm search (--swarm N or search.strategy swarm)');
      if (swarmSearches !== undefined) {
        const [{ exploreSwarm }, { defaultJobs }] = await Promise.all([
          import('./explore_swarm.ts'),
          import('../pool/pool.ts'),
        ]);
        const r = await exploreSwarm({
          file,
          name: scenario.name ?? file,
          variants: variantNames,
          raw,
          config,
          searches: swarmSearches,
          seed: swarmSeedFlag ?? search.swarm_seed,
          jobs: jobsFlag ?? defaultJobs(),
          bits: search.bitstate_bits,
          maxStates: maxStates ?? search.max_states,
          maxMemBytes:
            maxMemMb !== undefined ? maxMemMb * 2 ** 20 : (search.max_mem ?? DEFAULT_EXPLORE_MEM_BYTES),
          symmetry: flags.symmetry !== false && search.symmetry,
          por: flags.por !== false && search.por,
          deadline: Date.now() + maxTimeMs,
          json: flags.json === true,
        });
        saveIfFound(saveOut, r.saved);
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      const outcome = runExplore(config, {
        strategy:
          bitstateBits !== undefined
            ? 'bitstate'
            : flags.dfs
              ? 'dfs'
              : flags.bfs || search.strategy === 'swarm'
                ? 'bfs'
                : search.strategy,
        ...(bitstateBits !== undefined || search.strategy === 'bitstate'
          ? { bitstateBits: bitstateBits ?? search.bitstate_bits }
          : {}),
        maxStates: maxStates ?? search.max_states,
        maxMemBytes:
          maxMemMb !== undefined ? maxMemMb * 2 ** 20 : (search.max_mem ?? DEFAULT_EXPLORE_MEM_BYTES),
        shouldStop: deadline(maxTimeMs),
        symmetry: flags.symmetry !== false && search.symmetry,
        por: flags.por !== false && search.por,
        ...(flags.collapse ? { collapse: true } : {}),
        ...(flags.vcpuSymmetry ? { vcpuSymmetry: true } : {}),
        now: () => performance.now(),
        // A progress line on a terminal; nothing when stderr is a file or a pipe.
        ...(process.stderr.isTTY
          ? {
              onProgress: (st: { states: number; transitions: number; maxDepth: number }) =>
                process.stderr.write(
                  `\r${st.states.toLocaleString('en')} states, ${st.transitions.toLocaleString('en')} transitions, depth ${st.maxDepth}   `,
                ),
            }
          : {}),
      });
      if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
      const cx = outcome.counterexample;
      const rep = cx ? replay(config, cx) : null;
      saveIfFound(saveOut, cx && rep ? saveCounterexample(raw, rep, cx) : null);
      const budget = budgetName(outcome.budgetReason);
      if (flags.json) {
        process.stdout.write(
          exploreJsonLine({
            file,
            arch: 'x86',
            name: scenario.name ?? file,
            ...(variantNames.length > 0 ? { variants: variantNames } : {}),
            verdict: outcome.verdict,
            ...(budget ? { budget } : {}),
            ...(cx && rep ? counterexampleJson(cx, rep) : {}),
            stats: {
              ...outcome.safety,
              stateWords: outcome.stateWords,
              ...(timing ? { millis: outcome.millis, safetyMillis: outcome.safetyMillis } : {}),
              ...(outcome.liveness ? { liveness: outcome.liveness } : {}),
              ...(outcome.bitstate ? { bitstate: outcome.bitstate } : {}),
              ...(outcome.livenessSkipped ? { livenessSkipped: outcome.livenessSkipped } : {}),
            },
          }),
        );
      } else {
        const name = heading;
        const out: string[] = [];
        if (outcome.verdict === 'ok' && outcome.bitstate) {
          const checked = config.properties.filter((p) => !outcome.livenessSkipped?.includes(p));
          out.push(
            `${name}: no violation of ${checked.join(', ')} in the states a bitstate search reached (not a proof: see its coverage figures)`,
          );
          if (outcome.livenessSkipped)
            out.push(
              `not checked: ${outcome.livenessSkipped.join(', ')} (liveness needs the stored state graph)`,
            );
        } else if (outcome.verdict === 'ok') {
          const all = [...config.properties, ...shows.variantPropertyIds(config)];
          out.push(`${name}: all ${all.length} properties hold (${all.join(', ')})`);
        } else if (outcome.verdict === 'budget')
          out.push(`${name}: budget exhausted (${budget}) before the search finished; no violation so far`);
        else if (cx && rep) {
          const what = shows.propertySummary(cx.property, config);
          out.push(
            renderReplay(
              rep,
              `${name}: counterexample for ${cx.property} (${what})${cx.detail ? `: ${cx.detail}` : ''}, ${cx.steps.length + cx.loop.length} steps`,
            ),
          );
        }
        out.push(statsLine(outcome, timing));
        process.stdout.write(`${out.join('\n')}\n`);
      }
      process.exitCode =
        outcome.verdict === 'ok'
          ? EXIT_OK
          : outcome.verdict === 'counterexample'
            ? EXIT_COUNTEREXAMPLE
            : EXIT_BUDGET;
    });
}

/** --save: the counterexample found, written atomically; with none, the output file is not created. */
function saveIfFound(out: OutputFile | null, saved: unknown): void {
  if (out === null) return;
  if (saved === null || saved === undefined) {
    out.abort();
    return;
  }
  out.write(`${JSON.stringify(saved, null, 1)}\n`);
  out.commit();
}
