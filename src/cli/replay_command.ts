// `kvmsim replay FILE`: re-run a counterexample saved by `kvmsim explore --save` through the same steps on
// the model and print it. Exit 1 the recorded violation happens again, 0 the steps run but the property
// no longer fails (e.g. the model was fixed since), 2 bad input or a step that is no longer enabled (one
// line naming the step, nothing on stdout, no trace file).
import type { Command } from 'commander';
import { renderReplay, replay, type SavedCounterexample } from '../explore/x86/counterexample.ts';
import { PROPERTY_NAMES } from '../explore/x86/properties.ts';
import { writeReplayChromeTrace, writeReplayFtrace } from '../explore/x86/replay_trace.ts';
import type { Counterexample } from '../explore/x86/run.ts';
import { parseExplore } from '../explore/x86/scenario.ts';
import { readInputText } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { openOutput } from './output_file.ts';

const KINDS = ['invariant', 'step', 'end', 'liveness'];

function load(file: string): SavedCounterexample {
  let data: unknown;
  try {
    data = JSON.parse(readInputText(file));
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(
      file,
      '',
      `cannot read a JSON counterexample (${(e as Error).message.split('\n')[0]})`,
    );
  }
  const d = data as Partial<SavedCounterexample>;
  if (d === null || typeof d !== 'object' || d.format !== 'kvmsim-explore-counterexample' || d.version !== 1)
    throw new ScenarioError(
      file,
      'format',
      'expected "kvmsim-explore-counterexample" version 1 (written by kvmsim explore --save)',
    );
  if (!PROPERTY_NAMES.includes(d.property as never))
    throw new ScenarioError(file, 'property', `expected one of ${PROPERTY_NAMES.join(', ')}`);
  if (!KINDS.includes(d.kind as string))
    throw new ScenarioError(file, 'kind', `expected one of ${KINDS.join(', ')}`);
  for (const key of ['steps', 'loop'] as const) {
    const list = d[key];
    if (!Array.isArray(list) || !list.every((s) => Number.isInteger(s?.id) && s.id >= 0))
      throw new ScenarioError(file, key, 'expected a list of {id, label} with integer step ids');
  }
  return d as SavedCounterexample;
}

export function register(program: Command): void {
  program
    .command('replay')
    .description('re-run a counterexample saved by `kvmsim explore --save` and print it')
    .argument('<file>', 'counterexample JSON')
    .option('--trace <file>', 'also write the steps as Chrome Trace Event JSON (Perfetto)')
    .option('--ftrace <file>', "also write the steps' kvm_*async_pf* tracepoints in ftrace text format")
    .option('--json', 'one JSON object instead of the text (docs/cli.md, "replay --json")')
    .action((file: string, flags: { trace?: string; ftrace?: string; json?: boolean }) => {
      const saved = load(file);
      const { config } = parseExplore(saved.scenario, `${file} (scenario)`);
      const cx: Counterexample = {
        property: saved.property,
        kind: saved.kind,
        steps: saved.steps.map((s) => s.id),
        loop: saved.loop.map((s) => s.id),
        ...(saved.detail ? { detail: saved.detail } : {}),
      };
      const traceOut = flags.trace !== undefined ? openOutput('--trace', flags.trace, [file]) : null;
      const ftraceOut =
        flags.ftrace !== undefined
          ? openOutput('--ftrace', flags.ftrace, flags.trace !== undefined ? [file, flags.trace] : [file])
          : null;
      const r = replay(config, cx);
      if (r.diverged) {
        // A step that is not enabled (an unknown id, or the model changed since the save): bad input.
        const k = r.steps.length;
        const field = k < cx.steps.length ? `steps[${k}].id` : `loop[${k - cx.steps.length}].id`;
        throw new ScenarioError(
          file,
          field,
          `the replay diverged: ${r.diverged} (an unknown step id, or the model changed since the save); after ${k} step${k === 1 ? '' : 's'} of ${cx.steps.length + cx.loop.length}`,
        );
      }
      const name = (saved.scenario as { name?: string } | null)?.name ?? file;
      const header = `${name}: replay of a counterexample for ${cx.property}, ${cx.steps.length + cx.loop.length} steps`;
      const relabelled = r.steps.some((s, k) => s.label !== [...saved.steps, ...saved.loop][k]?.label);
      const verdict = r.reproduced
        ? `reproduced: ${cx.property} fails${relabelled ? ' (some step labels differ from the saved ones)' : ''}`
        : `not reproduced: the steps run but ${cx.property} no longer fails`;
      if (traceOut) {
        writeReplayChromeTrace(r, header, traceOut.write);
        traceOut.commit();
      }
      if (ftraceOut) {
        writeReplayFtrace(r, ftraceOut.write);
        ftraceOut.commit();
      }
      if (flags.json)
        process.stdout.write(
          `${JSON.stringify({
            file,
            name,
            property: cx.property,
            kind: cx.kind,
            verdict: r.reproduced ? 'reproduced' : 'not_reproduced',
            relabelled,
            initial: r.initial,
            loop_start: r.loopStart,
            steps: r.steps.map((st) => ({
              id: st.id,
              label: st.label,
              events: st.events,
              changes: st.changes,
              step_violation: st.stepViolation,
            })),
          })}\n`,
        );
      else process.stdout.write(`${renderReplay(r, header)}\n${verdict}\n`);
      process.exitCode = r.reproduced ? 1 : 0;
    });
}
