// kvmsim command-line entry point. Each subcommand lives in its own module under src/cli/.
import { Command, CommanderError } from 'commander';
import { StuckError, UsageError } from '../scenario/usage_error.ts';

const program = new Command();
program
  .name('kvmsim')
  .description('A deterministic model of Linux KVM async page faults and s390 GISA/GIB alerts')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

const commands: Array<() => Promise<{ register(p: Command): void }>> = [
  () => import('./script_command.ts'),
  () => import('./run_command.ts'),
  () => import('./compare_command.ts'),
  () => import('./diff_command.ts'),
  () => import('./explore_command.ts'),
  () => import('./replay_command.ts'),
];

for (const load of commands) (await load()).register(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`kvmsim: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof StuckError) {
    process.stderr.write(`kvmsim: ${e.message}\n`);
    process.exit(3);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}
