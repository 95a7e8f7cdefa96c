// `kvmsim diff FILE`: run a script on the model and on the real kernel and show the first divergence.
// Exit 0 same, 1 different, 2 bad input, 4 the kernel backend cannot run it here.
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).
import type { Command } from 'commander';
import type { TranscriptRecord } from '../script/transcript.ts';
import { BUG_HELP, collect, ERA_HELP } from './scenario_flags.ts';
import { EXIT_KVM_UNAVAILABLE } from './script_command.ts';
import type { SuiteFlags } from './script_suite.ts';

const CONTEXT = 3;

export function register(program: Command): void {
  program
    .command('diff')
    .description('run a script on the model and on /dev/kvm and print the first divergence')
    .argument(
      '<files...>',
      'scenario files (YAML or JSON); several files, a directory or a glob run as a suite',
    )
    .option('--era <era>', ERA_HELP)
    .option('--bug <name>', BUG_HELP, collect, [])
    .option(
      '--json',
      'one JSON object (docs/cli.md, "diff --json"); with a suite, one per file and a summary',
    )
    .option('--tap', 'a suite: print TAP version 13 instead of PASS/FAIL/SKIP lines')
    .option('--junit <file>', 'a suite: also write the results as JUnit XML to FILE')
    .action(async (args: string[], flags: SuiteFlags) => {
      const { expandInputs } = await import('../script/suite.ts');
      const inputs = expandInputs(args);
      if (inputs.suite || flags.tap || flags.junit !== undefined) {
        const { runDiffSuite } = await import('./script_suite.ts');
        return runDiffSuite(inputs.files, flags);
      }
      const file = inputs.files[0]!;
      const [{ runScriptOnKvm }, { runScript }, { comparable, diffTranscripts }, { loadScriptWithFlags }] =
        await Promise.all([
          import('../oracle/backend.ts'),
          import('../script/runner.ts'),
          import('../script/transcript_diff.ts'),
          import('./load_script_flags.ts'),
        ]);
      const script = loadScriptWithFlags(file, flags);
      const model = comparable(runScript(script).records);
      const r = await runScriptOnKvm(script);
      if (!('records' in r)) {
        if (flags.json)
          process.stdout.write(`${JSON.stringify({ file, verdict: r.status, reason: r.reason })}\n`);
        process.stderr.write(`kvmsim: ${file}: kernel backend ${r.status}: ${r.reason}\n`);
        process.exitCode = EXIT_KVM_UNAVAILABLE;
        return;
      }
      const kernel = comparable(r.records);
      const d = diffTranscripts(model, kernel);
      if (flags.json) {
        // docs/cli.md, "diff --json": one object; exit codes as without --json.
        process.stdout.write(
          `${JSON.stringify({
            file,
            verdict: d.index < 0 ? 'same' : 'differ',
            model_records: model.length,
            kernel_records: kernel.length,
            index: d.index < 0 ? null : d.index,
            model: d.index < 0 ? null : (d.left ?? null),
            kernel: d.index < 0 ? null : (d.right ?? null),
            kernel_status: r.status,
            ...(r.status === 'ok' ? { guest: r.guest } : { reason: r.reason }),
            kernel_version: r.fingerprint.kernel,
          })}\n`,
        );
        if (d.index >= 0) process.exitCode = 1;
        return;
      }
      const line = (rec: TranscriptRecord | undefined) => (rec === undefined ? '(end)' : JSON.stringify(rec));
      if (d.index < 0) {
        process.stdout.write(
          `same: ${model.length} records (${r.status === 'ok' ? r.guest : r.status} guest run on ${r.fingerprint.kernel})\n`,
        );
        return;
      }
      const out: string[] = [`differ at record ${d.index}:`];
      for (let i = Math.max(0, d.index - CONTEXT); i < d.index; i++) out.push(`  ${line(model[i])}`);
      out.push(`- model:  ${line(d.left)}`, `+ kernel: ${line(d.right)}`);
      for (let i = d.index + 1; i <= d.index + CONTEXT && (i < model.length || i < kernel.length); i++)
        out.push(`  model ${line(model[i])}  kernel ${line(kernel[i])}`);
      if (r.status !== 'ok') out.push(`(the kernel run ended in a ${r.status}: ${r.reason})`);
      process.stdout.write(`${out.join('\n')}\n`);
      process.exitCode = 1;
    });
}
