// `kvmsim compare FILE --apf off,sync,legacy,interrupt [--seeds 5]`: the same scenario under several
// protocol modes and seeds, one table of means with 95% confidence intervals and ratios against the
// first mode (docs/simulator.md).
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).
import type { Command } from 'commander';
import { DEFAULT_MAX_TIME, deadline, parseMaxEvents, parseMaxTime } from './budget_flags.ts';

interface CompareFlags {
  apf?: string;
  era?: string;
  whatIf?: string;
  seeds: string;
  seed?: string;
  json?: boolean;
  progress?: boolean;
  maxTime: string;
  maxEvents?: string;
  allowLarge?: boolean;
  jobs?: string;
  variant?: string[];
}

export function register(program: Command): void {
  program
    .command('compare')
    .description(
      'run a `kind: sim` scenario under several APF protocol modes, host eras or what-if switches, and seeds, and compare them',
    )
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option(
      '--apf <modes>',
      "comma-separated protocol modes; the first is the baseline (default: off,sync,legacy,interrupt, or the scenario's own with --era or --what-if)",
    )
    .option('--era <eras>', 'comma-separated host eras to run every VM under (e.g. 3.6,5.15,6.8,6.18)')
    .option(
      '--what-if <sets>',
      "comma-separated switch sets added to every VM's bugs: 'none', a switch name, or names joined by '+' (e.g. none,use-change-pte)",
    )
    .option(
      '--variant <files>',
      "variant modules to compare with the scenario as written (docs/variants.md): a comma-separated list, one column each after the 'base' column; FILE+FILE stacks two in one column",
      (v: string, acc: string[]) => [...acc, v],
      [],
    )
    .option('--seeds <n>', 'seeds per mode (scenario seed, seed+1, …)', '5')
    .option('--seed <n>', "first seed (overrides the scenario's)")
    .option('--json', 'print every run and the summary as JSON')
    .option('--progress', 'show a progress bar (on a terminal, for comparisons longer than a second)')
    .option('--max-time <duration>', 'stop after this much wall-clock time in all (exit 3)', DEFAULT_MAX_TIME)
    .option('--max-events <n>', 'stop when one run reaches this many simulation events (exit 3)')
    .option('--allow-large', 'run a scenario whose estimated memory is above the 4 GiB limit')
    .option('--jobs <n>', `runs at a time, each on a thread of its own (default: one per core)`)
    .action(async (file: string, flags: CompareFlags) => {
      const [
        { parseCountFlag, parseErasFlag, parseModesFlag, parseSeedFlag, parseWhatIfFlag },
        { checkSimResources, DEFAULT_MEMORY_BUDGET },
        { compareVariants, compareVariantsPooled, formatComparison, variantGrid },
        { loadSimScenario, simWithVariants },
        { startProgress },
        { defaultJobs, WorkerPool },
        { absoluteNow, COMPARE_TASK },
      ] = await Promise.all([
        import('./sim_flags.ts'),
        import('../scenario/resources.ts'),
        import('../sim/compare.ts'),
        import('../sim/load_sim.ts'),
        import('../sim/progress.ts'),
        import('../pool/pool.ts'),
        import('./compare_task.ts'),
      ]);
      const variantCols = (flags.variant ?? []).flatMap((f) => f.split(',')).filter((f) => f !== '');
      const varied = flags.era !== undefined || flags.whatIf !== undefined || variantCols.length > 0;
      const modes =
        flags.apf !== undefined
          ? parseModesFlag(flags.apf)
          : varied
            ? null
            : parseModesFlag('off,sync,legacy,interrupt');
      const eras = flags.era === undefined ? null : parseErasFlag(flags.era);
      const whatIf = flags.whatIf === undefined ? null : parseWhatIfFlag(flags.whatIf);
      const seeds = parseCountFlag('--seeds', flags.seeds, 1000);
      const jobs = flags.jobs !== undefined ? parseCountFlag('--jobs', flags.jobs, 1024) : defaultJobs();
      const maxTimeMs = parseMaxTime(flags.maxTime);
      const maxEvents = flags.maxEvents !== undefined ? parseMaxEvents(flags.maxEvents) : undefined;
      const { resolveVariants } = await import('../variant/load.ts');
      const scenario = await simWithVariants(loadSimScenario(file), file);
      // One column per entry (a+b: both, stacked), after the scenario as written.
      const variantSets =
        variantCols.length === 0
          ? null
          : [[], ...(await Promise.all(variantCols.map((c) => resolveVariants([], null, c.split('+')))))];
      if (flags.seed !== undefined) scenario.seed = parseSeedFlag(flags.seed);
      checkSimResources(scenario, flags.allowLarge ? Number.POSITIVE_INFINITY : DEFAULT_MEMORY_BUDGET);
      const progress = flags.progress ? startProgress('comparing') : null;
      try {
        const variants = variantGrid(modes, eras, whatIf, variantSets);
        // One job: the runs one after the other in this thread. More: on a pool of threads, with the
        // same result (each run depends only on its scenario and seed).
        const pool = jobs > 1 ? new WorkerPool(Math.min(jobs, variants.length * seeds)) : null;
        const result =
          pool === null
            ? compareVariants(scenario, variants, seeds, progress?.update ?? null, {
                shouldStop: deadline(maxTimeMs),
                ...(maxEvents !== undefined ? { maxEvents } : {}),
              })
            : await compareVariantsPooled(
                scenario,
                variants,
                seeds,
                pool,
                COMPARE_TASK,
                progress?.update ?? null,
                {
                  deadline: absoluteNow() + maxTimeMs,
                  ...(maxEvents !== undefined ? { maxEvents } : {}),
                },
              ).finally(() => pool.close());
        progress?.stop();
        process.stdout.write(flags.json ? `${JSON.stringify(result, null, 2)}\n` : formatComparison(result));
      } finally {
        progress?.stop();
      }
    });
}
