// A stand-alone entry for the s390 scenarios until `kvmsim script|run|explore` dispatch on `arch: s390`:
//
//   node --import tsx src/cli/s390_cli.ts script  FILE [--json] [--trace-events]
//   node --import tsx src/cli/s390_cli.ts run     FILE [--seed N] [--json] [--metrics a,b]
//   node --import tsx src/cli/s390_cli.ts explore FILE [--bfs|--dfs] [--max-states N] [--max-mem MB] [--json]
//
// Same flags and exit codes as the generic commands (0, 1 failed direction / counterexample, 2 bad input,
// 3 explore budget). It is a thin shell over src/s390/cli_adapter.ts, which is what the generic commands wire.
import { Command, CommanderError } from 'commander';
import { exploreS390, parseMetricList, runS390ScriptFile, runS390Sim } from '../s390/cli_adapter.ts';
import { UsageError } from './usage_error.ts';

function int(flag: string, v: string, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) > max)
    throw new UsageError(`${flag}: expected an integer 0..${max}, got ${JSON.stringify(v)}`);
  return Number(v);
}

function emit(r: { text: string; exitCode: number }): void {
  process.stdout.write(r.text);
  process.exitCode = r.exitCode;
}

const program = new Command()
  .name('s390_cli')
  .description('run arch: s390 script, sim and explore scenarios')
  .exitOverride()
  .configureOutput({ outputError: (s, write) => write(s) });

program
  .command('script')
  .argument('<file>')
  .option('--json', 'one JSON object per line')
  .option('--trace-events', 'follow each op with its events')
  .action((file: string, f: { json?: boolean; traceEvents?: boolean }) => emit(runS390ScriptFile(file, f)));

program
  .command('run')
  .argument('<file>')
  .option('--seed <n>', "run this seed only (instead of the scenario's seeds)")
  .option('--json', 'the report as JSON')
  .option('--metrics <list>', 'only these metric rows (comma-separated)')
  .action((file: string, f: { seed?: string; json?: boolean; metrics?: string }) =>
    emit(
      runS390Sim(file, {
        seed: f.seed !== undefined ? int('--seed', f.seed, 0xffffffff) : undefined,
        json: f.json,
        metrics: f.metrics !== undefined ? parseMetricList(f.metrics) : undefined,
      }),
    ),
  );

program
  .command('explore')
  .argument('<file>')
  .option('--bfs', 'breadth-first (shortest counterexamples; the default)')
  .option('--dfs', 'depth-first')
  .option('--max-states <n>', "overrides the scenario's search.max_states")
  .option('--max-mem <MB>', 'stop before the search allocates more than this many MiB')
  .option('--json', 'the outcome as one JSON object')
  .action(
    (
      file: string,
      f: { bfs?: boolean; dfs?: boolean; maxStates?: string; maxMem?: string; json?: boolean },
    ) => {
      if (f.bfs && f.dfs) throw new UsageError('--bfs and --dfs: choose one');
      emit(
        exploreS390(file, {
          strategy: f.dfs ? 'dfs' : f.bfs ? 'bfs' : undefined,
          maxStates: f.maxStates !== undefined ? int('--max-states', f.maxStates, 2 ** 28) : undefined,
          maxMemBytes: f.maxMem !== undefined ? int('--max-mem', f.maxMem, 1 << 20) * 2 ** 20 : undefined,
          json: f.json,
        }),
      );
    },
  );

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof UsageError) {
    process.stderr.write(`s390_cli: ${e.message}\n`);
    process.exit(2);
  }
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2);
  throw e;
}
