// `kvmsim explore FILE`: explore every interleaving of a `kind: explore` scenario up to its bounds and
// check its properties. Exit 0 the properties hold up to the bound, 1 a counterexample was found, 2 bad
// input, 3 a budget ran out first.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { renderReplay, replay, saveCounterexample } from '../explore/x86/counterexample.ts';
import { PROPERTIES } from '../explore/x86/properties.ts';
import { type ExploreOutcome, runExplore } from '../explore/x86/run.ts';
import { loadExplore } from '../explore/x86/scenario.ts';
import { UsageError } from '../scenario/usage_error.ts';
import { exploreS390, s390FileKind } from './s390_adapter.ts';

export const EXIT_OK = 0;
export const EXIT_COUNTEREXAMPLE = 1;
export const EXIT_BUDGET = 3;

interface ExploreFlags {
  bfs?: boolean;
  dfs?: boolean;
  maxStates?: string;
  maxMem?: string;
  json?: boolean;
  save?: string;
  symmetry?: boolean;
  por?: boolean;
}

function positiveInt(flag: string, v: string, max: number): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < 1 || Number(v) > max)
    throw new UsageError(`${flag}: expected an integer 1..${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function statsLine(o: ExploreOutcome): string {
  const s = o.safety;
  const ms = o.safetyMillis;
  const rate = ms !== undefined && ms > 0 ? `, ${Math.round((s.states / ms) * 1000)} states/s` : '';
  const time = ms !== undefined ? `, ${(ms / 1000).toFixed(2)} s` : '';
  const lms = o.millis !== undefined && ms !== undefined ? `, ${((o.millis - ms) / 1000).toFixed(2)} s` : '';
  const live = o.liveness
    ? `; liveness pass: ${o.liveness.states} states, ${o.liveness.edges} protocol edges${lms}`
    : '';
  return `safety search: ${s.states} states, ${s.transitions} transitions, depth ${s.maxDepth}, ${o.stateWords} words/state, ${Math.round(s.bytesPerState)} B/state${time}${rate}${live}`;
}

export function register(program: Command): void {
  program
    .command('explore')
    .description('explore every interleaving of a `kind: explore` scenario and check its properties')
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option('--bfs', 'breadth-first search: shortest counterexamples (the default)')
    .option('--dfs', 'depth-first search')
    .option(
      '--max-states <n>',
      "stop after storing this many states (overrides the scenario's search.max_states)",
    )
    .option('--max-mem <MB>', 'stop before the search allocates more than this many MiB')
    .option('--json', 'print the result as one JSON object')
    .option('--save <file>', 'write the counterexample as JSON, for `kvmsim replay`')
    .option('--no-symmetry', 'store every task permutation (no symmetry reduction)')
    .option('--no-por', 'expand every enabled step (no partial-order reduction)')
    .action((file: string, flags: ExploreFlags) => {
      if (flags.bfs && flags.dfs) throw new UsageError('--bfs and --dfs: choose one');
      const maxStates =
        flags.maxStates !== undefined ? positiveInt('--max-states', flags.maxStates, 2 ** 28) : undefined;
      const maxMemMb =
        flags.maxMem !== undefined ? positiveInt('--max-mem', flags.maxMem, 1 << 20) : undefined;
      if (s390FileKind(file) !== null) {
        // arch: s390 explore scenarios (docs/s390.md), on the same engine.
        const r = exploreS390(file, {
          strategy: flags.dfs ? 'dfs' : flags.bfs ? 'bfs' : undefined,
          maxStates,
          maxMemBytes: maxMemMb !== undefined ? maxMemMb * 2 ** 20 : undefined,
          json: flags.json,
        });
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      const { scenario, config, raw } = loadExplore(file);
      const search = scenario.search;
      const outcome = runExplore(config, {
        strategy: flags.dfs ? 'dfs' : flags.bfs ? 'bfs' : search.strategy,
        maxStates: maxStates ?? search.max_states,
        maxMemBytes: maxMemMb !== undefined ? maxMemMb * 2 ** 20 : search.max_mem,
        symmetry: flags.symmetry !== false && search.symmetry,
        por: flags.por !== false && search.por,
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
      if (cx && rep && flags.save !== undefined)
        writeFileSync(flags.save, `${JSON.stringify(saveCounterexample(raw, rep, cx), null, 1)}\n`);
      if (flags.json) {
        process.stdout.write(
          `${JSON.stringify({
            file,
            verdict: outcome.verdict,
            ...(outcome.budgetReason ? { budget: outcome.budgetReason } : {}),
            ...(cx && rep
              ? {
                  property: cx.property,
                  kind: cx.kind,
                  ...(cx.detail ? { detail: cx.detail } : {}),
                  steps: rep.steps.slice(0, cx.steps.length).map((s) => s.label),
                  loop: rep.steps.slice(cx.steps.length).map((s) => s.label),
                }
              : {}),
            stats: {
              ...outcome.safety,
              stateWords: outcome.stateWords,
              millis: outcome.millis,
              safetyMillis: outcome.safetyMillis,
              liveness: outcome.liveness,
            },
          })}\n`,
        );
      } else {
        const name = scenario.name ?? file;
        const out: string[] = [];
        if (outcome.verdict === 'ok')
          out.push(
            `${name}: all ${config.properties.length} properties hold (${config.properties.join(', ')})`,
          );
        else if (outcome.verdict === 'budget')
          out.push(
            `${name}: budget exhausted (${outcome.budgetReason}) before the search finished; no violation so far`,
          );
        else if (cx && rep) {
          const what = PROPERTIES[cx.property].summary;
          out.push(
            renderReplay(
              rep,
              `${name}: counterexample for ${cx.property} (${what})${cx.detail ? `: ${cx.detail}` : ''}, ${cx.steps.length + cx.loop.length} steps`,
            ),
          );
        }
        out.push(statsLine(outcome));
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
