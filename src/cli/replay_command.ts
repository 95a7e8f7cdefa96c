// `kvmsim replay FILE`: re-run a counterexample saved by `kvmsim explore --save` through the same steps on
// the model and print it. Exit 1 the recorded violation happens again, 0 the steps run but the property
// no longer fails (e.g. the model was fixed since), 2 bad input or a step that is no longer enabled (one
// line naming the step, nothing on stdout, no trace file).
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).
import type { Command } from 'commander';
import { UsageError } from '../scenario/usage_error.ts';
import { openOutput } from './output_file.ts';

export function register(program: Command): void {
  program
    .command('replay')
    .description('re-run a counterexample saved by `kvmsim explore --save` and print it')
    .argument('<file>', 'counterexample JSON')
    .option('--trace <file>', 'also write the steps as Chrome Trace Event JSON (Perfetto)')
    .option('--ftrace <file>', "also write the steps' kvm_*async_pf* tracepoints in ftrace text format")
    .option('--json', 'one JSON object instead of the text (docs/cli.md, "replay --json"; x86)')
    .action(async (file: string, flags: { trace?: string; ftrace?: string; json?: boolean }) => {
      const [{ renderReplay }, { writeReplayChromeTrace, writeReplayFtrace }, load] = await Promise.all([
        import('../explore/x86/counterexample.ts'),
        import('../explore/x86/replay_trace.ts'),
        import('./replay_load.ts'),
      ]);
      const data = load.readSavedEnvelope(file);
      const { s390Kind } = await import('./s390_kind.ts');
      if (s390Kind(data.scenario) === 'explore') {
        // An s390 counterexample (its embedded scenario says arch: s390): printed as `explore` prints it.
        for (const [flag, v] of [
          ['--trace', flags.trace],
          ['--ftrace', flags.ftrace],
          ['--json', flags.json],
        ] as const)
          if (v !== undefined)
            throw new UsageError(`${flag}: x86 counterexamples only (${file} is an s390 one)`);
        const { replayS390File } = await import('./s390_adapter.ts');
        const r = replayS390File(file, data);
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      const saved = load.checkSavedCounterexample(data, file);
      let prepared = load.prepareReplay(saved, file);
      const savedVariants = prepared.config.variants ?? [];
      if (savedVariants.length > 0) {
        // Saved relative to the working directory explore ran in (docs/variants.md).
        const { resolveVariants } = await import('../variant/load.ts');
        prepared = {
          ...prepared,
          config: { ...prepared.config, variants: await resolveVariants(savedVariants, null) },
        };
      }
      const cx = prepared.counterexample;
      const name = (saved.scenario as { name?: string } | null)?.name ?? file;
      const traceOut = flags.trace !== undefined ? openOutput('--trace', flags.trace, [file]) : null;
      const ftraceOut =
        flags.ftrace !== undefined
          ? openOutput('--ftrace', flags.ftrace, flags.trace !== undefined ? [file, flags.trace] : [file])
          : null;
      const { replay: r, header, verdict } = load.runReplay(saved, prepared, file);
      const relabelled = r.steps.some((st, k) => st.label !== [...saved.steps, ...saved.loop][k]?.label);
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
