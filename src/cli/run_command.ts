// `kvmsim run FILE`: simulate a `kind: sim` scenario and print its metrics (docs/simulator.md).
import { closeSync, openSync, writeSync } from 'node:fs';
import type { Command } from 'commander';
import { UsageError } from '../scenario/usage_error.ts';
import { loadSimScenario } from '../sim/load_sim.ts';
import { startProgress } from '../sim/progress.ts';
import { formatReport } from '../sim/report.ts';
import { runSimulation } from '../sim/run.ts';
import { SimTrace } from '../sim/sim_trace.ts';
import { ChromeTraceWriter } from '../trace/chrome.ts';
import { FtraceWriter } from '../trace/ftrace.ts';
import { parseMetricList, runS390Sim, s390FileKind } from './s390_adapter.ts';
import { parseSeedFlag } from './sim_flags.ts';

interface RunFlags {
  seed?: string;
  json?: boolean;
  trace?: string;
  ftrace?: string;
  progress?: boolean;
  metrics?: string;
}

/** A file sink for a trace writer (synchronous writes: the simulation is synchronous too). */
function fileSink(path: string): { write: (s: string) => void; close: () => void } {
  const fd = openSync(path, 'w');
  return { write: (s) => void writeSync(fd, s), close: () => closeSync(fd) };
}

export function register(program: Command): void {
  program
    .command('run')
    .description('simulate a `kind: sim` scenario (workloads on an overcommitted host) and print its metrics')
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option('--seed <n>', "root seed of the random streams (overrides the scenario's)")
    .option('--json', 'print the metrics as JSON (every VM and the total)')
    .option('--trace <file>', 'write a Chrome Trace Event JSON file (open it in Perfetto)')
    .option('--ftrace <file>', 'write the kvm_*async_pf* tracepoints in ftrace text format')
    .option('--progress', 'show a progress bar (on a terminal, for runs longer than a second)')
    .option('--metrics <list>', 'arch: s390 sim scenarios only: these metric rows (comma-separated)')
    .action((file: string, flags: RunFlags) => {
      if (s390FileKind(file) !== null) {
        // arch: s390, kind: sim (docs/s390.md): its own simulator and report; exit 1 on a failed direction.
        if (flags.trace !== undefined || flags.ftrace !== undefined || flags.progress)
          throw new UsageError('--trace, --ftrace and --progress: x86 sim scenarios only');
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
      const scenario = loadSimScenario(file);
      if (flags.seed !== undefined) scenario.seed = parseSeedFlag(flags.seed);
      const chromeFile = flags.trace !== undefined ? fileSink(flags.trace) : null;
      const ftraceFile = flags.ftrace !== undefined ? fileSink(flags.ftrace) : null;
      const tracer =
        chromeFile || ftraceFile
          ? new SimTrace(
              {
                chrome: chromeFile ? new ChromeTraceWriter(chromeFile.write) : null,
                ftrace: ftraceFile ? new FtraceWriter(ftraceFile.write) : null,
              },
              Math.max(10_000, scenario.duration / 2000),
            )
          : null;
      const progress = flags.progress ? startProgress('simulating') : null;
      try {
        const { metrics } = runSimulation(scenario, { tracer, onProgress: progress?.update ?? null });
        progress?.stop();
        process.stdout.write(flags.json ? `${JSON.stringify(metrics, null, 2)}\n` : formatReport(metrics));
      } finally {
        progress?.stop();
        chromeFile?.close();
        ftraceFile?.close();
      }
    });
}
