// kvmsim command-line entry point. Each subcommand lives in its own module under src/cli/.
//
// How a command registers (keep start-up fast: `kvmsim --help` loads only this file, commander and the
// X_command.ts modules): X_command.ts exports `register(program)`, which declares the command, its
// arguments and options eagerly, importing only light modules at its top (commander types, the flag
// parsers, name lists such as ERA_NAMES). Everything the command runs — loaders, zod/yaml schemas, the
// model — is imported inside its action with `await import(...)`, so esbuild puts it in a chunk of its own
// (dist/, scripts/build.mjs) that only that command loads. To add a command, add its module to `commands`
// below; test/package/startup.test.ts checks that --help stays free of the heavy modules.
//
// One error path (docs/cli.md, "Exit codes"): every error reaching the user is one line on stderr.
// UsageError (bad flag, bad scenario, unusable output path, failed write) exits 2, StuckError and budgets
// exit 3, the kernel backend being unavailable exits 4 (set by the commands). `--debug` adds the stack
// trace. Anything else is a bug in kvmsim: one line saying so, exit 70, the stack with --debug.
import { Command, CommanderError } from 'commander';
import { StuckError, UsageError } from '../scenario/usage_error.ts';
import { VERSION } from '../scenario/version.ts';
import * as compareCommand from './compare_command.ts';
import * as diffCommand from './diff_command.ts';
import * as exploreCommand from './explore_command.ts';
import { abortAllOutputs } from './output_file.ts';
import * as replayCommand from './replay_command.ts';
import * as reportCommand from './report_command.ts';
import * as runCommand from './run_command.ts';
import * as schemaCommand from './schema_command.ts';
import * as scriptCommand from './script_command.ts';
import * as sweepCommand from './sweep_command.ts';
import * as workerCommand from './worker_command.ts';

export const EXIT_USAGE = 2;
export const EXIT_STUCK = 3;
export const EXIT_INTERNAL = 70;

/** The commands, in --help order. Each module's `register` declares the command; its action loads the rest. */
const commands: ReadonlyArray<{ register(p: Command): void }> = [
  scriptCommand,
  runCommand,
  compareCommand,
  diffCommand,
  exploreCommand,
  replayCommand,
  schemaCommand,
  reportCommand,
  sweepCommand,
  workerCommand,
];

/** The exit codes (docs/cli.md, "Exit codes"), printed at the end of --help. */
export const EXIT_CODES_HELP = `
Exit codes:
  0   success (explore: the properties hold up to the bound; replay: the violation no longer
      happens; diff: same)
  1   a result, not an error: explore found a counterexample, replay reproduced it, diff found a
      difference, an arch: s390 script's expect or sim's expected direction failed
  2   bad input: a scenario file, a flag, an environment variable, an unusable output path
  3   a budget ran out (--max-time, --max-events, --max-states, --max-mem), or a simulation whose
      virtual time stands still
  4   --backend kvm (or diff) cannot run the scenario on this machine's kernel
  70  an internal error: a bug in kvmsim (please report it with --debug's stack trace)
`;

/**
 * Runs one command line (`argv` as in process.argv: node, script, then the arguments) and returns the
 * exit code. Output goes to process.stdout/stderr; files through output_file.ts.
 */
export async function main(argv: readonly string[]): Promise<number> {
  const program = new Command();
  program
    .name('kvmsim')
    .description('A deterministic model of Linux KVM async page faults and s390 GISA/GIB alerts')
    .version(VERSION, '-V, --version', 'print the version of kvmsim')
    .option('--debug', 'on an error, also print the stack trace')
    .addHelpText('after', EXIT_CODES_HELP)
    .exitOverride()
    .configureOutput({ outputError: (s, write) => write(`kvmsim: ${s}`) });
  for (const c of commands) c.register(program);
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
