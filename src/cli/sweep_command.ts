// `kvmsim sweep FILE`: a `kind: sweep` scenario — a base sim scenario, a grid of field values × seeds —
// run point by point on a pool of threads (or through a Redis queue served by `kvmsim worker`s), with
// results in an output directory that a rerun resumes (docs/sweeps.md).
// Lazy like every command (main.ts): the pool, BullMQ, the loaders and zod load when the action runs.
import type { Command } from 'commander';

interface SweepFlags {
  out?: string;
  jobs?: string;
  json?: boolean;
  queue?: string;
  queueName: string;
  progress: boolean;
  allowLarge?: boolean;
}

export function register(program: Command): void {
  program
    .command('sweep')
    .description(
      'run a `kind: sweep` scenario: a sim scenario over a grid of field values × seeds, in parallel, resumable',
    )
    .argument('<file>', 'sweep scenario file (YAML or JSON)')
    .option(
      '--out <dir>',
      'output directory: points.jsonl, points.csv, summary.json (default: ./<name>-sweep)',
    )
    .option('--jobs <n>', `points at a time, each on a thread of its own (default: one per core)`)
    .option('--json', 'print the summary (summary.json) instead of the table')
    .option(
      '--queue <url>',
      'run the points through a BullMQ queue on Redis (redis://HOST:PORT), served by `kvmsim worker`s',
    )
    .option('--queue-name <name>', 'the BullMQ queue', 'kvmsim')
    .option('--no-progress', 'no progress bar or per-point lines on stderr')
    .option('--allow-large', 'run points whose estimated memory is above the 4 GiB limit')
    .action(async (file: string, flags: SweepFlags) => {
      const { parseCountFlag } = await import('./sim_flags.ts');
      const { defaultJobs } = await import('../pool/pool.ts');
      const { parseRedisUrl } = await import('../pool/queue.ts');
      const { checkSimResources, DEFAULT_MEMORY_BUDGET } = await import('../scenario/resources.ts');
      const { loadSweep } = await import('../sweep/load.ts');
      const { formatSweep, SweepOutput } = await import('../sweep/output.ts');
      const { checkMetrics, runSweep } = await import('../sweep/run.ts');
      const jobs = flags.jobs !== undefined ? parseCountFlag('--jobs', flags.jobs, 1024) : defaultJobs();
      const queue =
        flags.queue !== undefined
          ? { target: parseRedisUrl('--queue', flags.queue), name: flags.queueName }
          : undefined;
      const sweep = loadSweep(file);
      for (const p of sweep.points)
        checkSimResources(p.scenario, flags.allowLarge ? Number.POSITIVE_INFINITY : DEFAULT_MEMORY_BUDGET);
      checkMetrics(sweep);
      const out = new SweepOutput(flags.out ?? `${sweep.name}-sweep`, sweep);
      const summary = await runSweep(sweep, out, {
        jobs,
        progress: flags.progress,
        ...(queue !== undefined ? { queue } : {}),
      });
      process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSweep(summary));
    });
}
