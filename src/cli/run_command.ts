// `kvmsim run FILE`: simulate a `kind: sim` scenario and print its metrics (docs/simulator.md).
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).

import type { Command } from 'commander';
import { UsageError } from '../scenario/usage_error.ts';
import { DEFAULT_MAX_TIME, deadline, formatMillis, parseMaxEvents, parseMaxTime } from './budget_flags.ts';
import { openOutput } from './output_file.ts';
import { collect, VARIANT_HELP, variantFiles } from './scenario_flags.ts';

export const EXIT_BUDGET = 3;

interface RunFlags {
  seed?: string;
  json?: boolean;
  trace?: string;
  ftrace?: string;
  events?: string;
  traceWindow?: string;
  progress?: boolean;
  metrics?: string;
  maxTime: string;
  maxEvents?: string;
  allowLarge?: boolean;
  variant?: string[];
}

export function register(program: Command): void {
  program
    .command('run')
    .description('simulate a `kind: sim` scenario (workloads on an overcommitted host) and print its metrics')
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option('--seed <n>', "root seed of the random streams (overrides the scenario's)")
    .option('--variant <files>', VARIANT_HELP, collect, [])
    .option('--json', 'print the metrics as JSON (every VM and the total)')
    .option(
      '--trace <file>',
      'write a Chrome Trace Event JSON file (open it in Perfetto; gzipped if FILE ends in .gz)',
    )
    .option('--ftrace <file>', 'write the kvm_*async_pf* tracepoints in ftrace text format')
    .option(
      '--events <list>',
      "the events --trace and --ftrace record, as tracefs's set_event names them: names or globs, commas between (default: kvm_try_async_get_page,kvm_async_pf*; 'kvm:*' adds kvm_exit, kvm_entry, kvm_inj_*, kvm_apic_accept_irq, kvm_msr, kvm_hypercall)",
    )
    .option(
      '--trace-window <start:end>',
      'trace only this part of the run (virtual time, e.g. 100ms:200ms; either side may be empty)',
    )
    .option('--progress', 'show a progress bar (on a terminal, for runs longer than a second)')
    .option('--metrics <list>', 'arch: s390 sim scenarios only: these metric rows (comma-separated)')
    .option(
      '--max-time <duration>',
      'stop after this much wall-clock time (partial metrics, exit 3)',
      DEFAULT_MAX_TIME,
    )
    .option('--max-events <n>', 'stop after this many simulation events (partial metrics, exit 3)')
    .option('--allow-large', 'run a scenario whose estimated memory is above the 4 GiB limit')
    .action(async (file: string, flags: RunFlags, command: Command) => {
      const maxTimeMs = parseMaxTime(flags.maxTime);
      const maxEvents = flags.maxEvents !== undefined ? parseMaxEvents(flags.maxEvents) : undefined;
      const [{ parseSeedFlag }, { s390FileKind }] = await Promise.all([
        import('./sim_flags.ts'),
        import('./s390_kind.ts'),
      ]);
      if (s390FileKind(file) !== null) {
        // arch: s390, kind: sim (docs/s390.md): its own simulator and report; exit 1 on a failed direction.
        if (
          flags.trace !== undefined ||
          flags.ftrace !== undefined ||
          flags.traceWindow ||
          flags.events !== undefined ||
          flags.progress
        )
          throw new UsageError(
            '--trace, --ftrace, --trace-window, --events and --progress: x86 sim scenarios only',
          );
        // The s390 simulator has no budget hooks (its scenarios are bounded by their duration and seeds).
        if (flags.maxEvents !== undefined || command.getOptionValueSource('maxTime') === 'cli')
          throw new UsageError('--max-events and --max-time: x86 sim scenarios only');
        const { parseMetricList, runS390Sim } = await import('./s390_adapter.ts');
        const r = runS390Sim(file, {
          seed: flags.seed !== undefined ? parseSeedFlag(flags.seed) : undefined,
          json: flags.json,
          metrics: flags.metrics !== undefined ? parseMetricList(flags.metrics) : undefined,
        });
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      if (flags.metrics !== undefined) throw new UsageError('--metrics: arch: s390 sim scenarios only');
      const [
        { checkSimResources, DEFAULT_MEMORY_BUDGET },
        { loadSimScenario, simWithVariants },
        { startProgress },
        { formatReport },
        { runSimulation },
        { SimTrace },
        { ChromeTraceWriter },
        { FtraceWriter },
        { FtraceSpool },
        { traceSink },
        { parseTraceWindow },
      ] = await Promise.all([
        import('../scenario/resources.ts'),
        import('../sim/load_sim.ts'),
        import('../sim/progress.ts'),
        import('../sim/report.ts'),
        import('../sim/run.ts'),
        import('../sim/sim_trace.ts'),
        import('../trace/chrome.ts'),
        import('../trace/ftrace.ts'),
        import('../trace/ftrace_spool.ts'),
        import('../trace/gzip_sink.ts'),
        import('../trace/trace_window.ts'),
      ]);
      const window =
        flags.traceWindow !== undefined ? parseTraceWindow('--trace-window', flags.traceWindow) : undefined;
      if (window && flags.trace === undefined && flags.ftrace === undefined)
        throw new UsageError('--trace-window: only with --trace or --ftrace');
      if (flags.events !== undefined && flags.trace === undefined && flags.ftrace === undefined)
        throw new UsageError('--events: only with --trace or --ftrace');
      const { parseEvents } = await import('../trace/events_filter.ts');
      const events = parseEvents('--events', flags.events);
      const scenario = await simWithVariants(loadSimScenario(file), file, variantFiles(flags.variant));
      if (flags.seed !== undefined) scenario.seed = parseSeedFlag(flags.seed);
      checkSimResources(scenario, flags.allowLarge ? Number.POSITIVE_INFINITY : DEFAULT_MEMORY_BUDGET);
      // Streaming traces: written to temporary files, renamed into place when the run ends well.
      const chromeFile = flags.trace !== undefined ? openOutput('--trace', flags.trace, [file]) : null;
      const ftraceFile =
        flags.ftrace !== undefined
          ? openOutput('--ftrace', flags.ftrace, flags.trace !== undefined ? [file, flags.trace] : [file])
          : null;
      const chromeSink = chromeFile ? traceSink(chromeFile.path, chromeFile) : null;
      const spool = ftraceFile ? new FtraceSpool() : null;
      const ftraceWriter = spool ? new FtraceWriter(spool.write) : null;
      const tracer =
        chromeFile || ftraceFile
          ? new SimTrace(
              {
                chrome: chromeSink ? new ChromeTraceWriter(chromeSink.write) : null,
                ftrace: ftraceWriter,
              },
              Math.max(10_000, scenario.duration / 2000),
              window,
              events,
            )
          : null;
      const progress = flags.progress ? startProgress('simulating') : null;
      try {
        const { sim, metrics } = runSimulation(scenario, {
          tracer,
          onProgress: progress?.update ?? null,
          shouldStop: deadline(maxTimeMs),
          ...(maxEvents !== undefined ? { maxEvents } : {}),
        });
        progress?.stop();
        // The ftrace header counts the lines: it and the spooled lines are written now, before either
        // file is committed, so a failing write leaves neither.
        chromeSink?.finish();
        if (ftraceFile && spool && ftraceWriter) spool.finish(ftraceWriter.header(), ftraceFile);
        chromeFile?.commit();
        ftraceFile?.commit();
        if (sim.stopped === null) {
          process.stdout.write(flags.json ? `${JSON.stringify(metrics, null, 2)}\n` : formatReport(metrics));
          return;
        }
        // A budget ran out: the metrics of the virtual time simulated so far, marked partial; exit 3.
        const why =
          sim.stopped === 'max-events'
            ? `--max-events ${maxEvents} reached`
            : `--max-time ${formatMillis(maxTimeMs)} reached`;
        const partial = {
          budget: sim.stopped,
          events: sim.events,
          virtualTimeNs: sim.endTime,
          durationNs: scenario.duration,
        };
        process.stdout.write(
          flags.json
            ? `${JSON.stringify({ partial, ...metrics }, null, 2)}\n`
            : `partial: ${why} after ${sim.events} events, at ${sim.endTime} ns of ${scenario.duration} ns virtual time; the metrics cover that period\n${formatReport(metrics)}`,
        );
        process.stderr.write(`kvmsim: ${file}: budget: ${why}; partial metrics printed\n`);
        process.exitCode = EXIT_BUDGET;
      } finally {
        progress?.stop();
        chromeFile?.abort();
        ftraceFile?.abort();
        spool?.abort();
      }
    });
}
