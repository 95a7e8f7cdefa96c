// `kvmsim diff FILE`: run a script on the model and on the real kernel and show the first divergence.
// Exit 0 same, 1 different, 2 bad input, 4 the kernel backend cannot run it here.
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).
import type { Command } from 'commander';
import type { TranscriptRecord } from '../script/transcript.ts';
import { BUG_HELP, collect, ERA_HELP, type ScenarioFlags } from './scenario_flags.ts';
import { EXIT_KVM_UNAVAILABLE } from './script_command.ts';

const CONTEXT = 3;

export function register(program: Command): void {
  program
    .command('diff')
    .description('run a script on the model and on /dev/kvm and print the first divergence')
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option('--era <era>', ERA_HELP)
    .option('--bug <name>', BUG_HELP, collect, [])
    .action(async (file: string, flags: ScenarioFlags) => {
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
        process.stderr.write(`kvmsim: ${file}: kernel backend ${r.status}: ${r.reason}\n`);
        process.exitCode = EXIT_KVM_UNAVAILABLE;
        return;
      }
      const kernel = comparable(r.records);
      const d = diffTranscripts(model, kernel);
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
