// kvmsim command-line entry point. Each subcommand lives in its own module under src/cli/.
//
// One error path (docs/cli.md, "Exit codes"): every error reaching the user is one line on stderr.
// UsageError (bad flag, bad scenario, unusable output path, failed write) exits 2, StuckError and budgets
// exit 3, the kernel backend being unavailable exits 4 (set by the commands). `--debug` adds the stack
// trace. Anything else is a bug in kvmsim: one line saying so, exit 70, the stack with --debug.
import { Command, CommanderError } from 'commander';
import { StuckError, UsageError } from '../scenario/usage_error.ts';
import { abortAllOutputs } from './output_file.ts';

export const EXIT_USAGE = 2;
export const EXIT_STUCK = 3;
export const EXIT_INTERNAL = 70;

const commands: Array<() => Promise<{ register(p: Command): void }>> = [
  () => import('./script_command.ts'),
  () => import('./run_command.ts'),
  () => import('./compare_command.ts'),
  () => import('./diff_command.ts'),
  () => import('./explore_command.ts'),
  () => import('./replay_command.ts'),
  () => import('./schema_command.ts'),
];

/**
 * Runs one command line (`argv` as in process.argv: node, script, then the arguments) and returns the
 * exit code. Output goes to process.stdout/stderr; files through output_file.ts.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command();
  program
    .name('kvmsim')
    .description('A deterministic model of Linux KVM async page faults and s390 GISA/GIB alerts')
    .option('--debug', 'on an error, also print the stack trace')
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`kvmsim: ${s}`) });
  for (const load of commands) (await load()).register(program);
  const debug = argv.includes('--debug');
  process.exitCode = undefined;
  try {
    await program.parseAsync([...argv]);
    const code = Number(process.exitCode ?? 0);
    process.exitCode = undefined;
    return code;
  } catch (e) {
    process.exitCode = undefined;
    abortAllOutputs();
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : EXIT_USAGE;
    const stack = debug && e instanceof Error && e.stack ? `${e.stack}\n` : '';
    if (e instanceof UsageError) {
      process.stderr.write(`kvmsim: ${e.message}\n${stack}`);
      return EXIT_USAGE;
    }
    if (e instanceof StuckError) {
      process.stderr.write(`kvmsim: ${e.message}\n${stack}`);
      return EXIT_STUCK;
    }
    const what = e instanceof Error ? `${e.name}: ${e.message.split('\n')[0]}` : String(e);
    process.stderr.write(
      `kvmsim: internal error (a bug in kvmsim, please report it): ${what}${debug ? '' : ' (--debug shows the stack trace)'}\n${stack}`,
    );
    return EXIT_INTERNAL;
  }
}

/**
 * A failed write to stdout (a full disk, `> /dev/full`, a closed pipe) is one line on stderr and exit 2,
 * not an unhandled 'error' event.
 */
export function guardStdout(): void {
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    abortAllOutputs();
    const why =
      e.code === 'EPIPE'
        ? 'the reader closed the pipe (EPIPE)'
        : e.code === 'ENOSPC'
          ? 'no space left on the device (ENOSPC)'
          : (e.code ?? e.message);
    try {
      process.stderr.write(`kvmsim: stdout: cannot write: ${why}\n`);
    } catch {}
    process.exit(EXIT_USAGE);
  });
}
