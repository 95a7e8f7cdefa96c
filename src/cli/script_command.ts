// `kvmsim script FILE`: run a script scenario on the model (or on /dev/kvm) and print its transcript.
import type { Command } from 'commander';
import { runScriptOnKvm } from '../oracle/backend.ts';
import { UsageError } from '../scenario/usage_error.ts';
import { runScript } from '../script/runner.ts';
import { expandInputs } from '../script/suite.ts';
import { formatJsonLines, formatTable, type TranscriptRecord } from '../script/transcript.ts';
import { FTRACE_HEADER } from '../trace/ftrace.ts';
import { BUG_HELP, collect, ERA_HELP, loadScriptWithFlags, type ScenarioFlags } from './load_script_flags.ts';
import { openOutput } from './output_file.ts';
import { runS390ScriptFile, s390FileKind } from './s390_adapter.ts';
import { expectFailure, runScriptSuite } from './script_suite.ts';

interface ScriptFlags extends ScenarioFlags {
  json?: boolean;
  ftrace?: string;
  traceEvents?: boolean;
  backend: string;
  tap?: boolean;
  junit?: string;
}

/** Exit code when the kernel backend cannot run the scenario here. */
export const EXIT_KVM_UNAVAILABLE = 4;

export function register(program: Command): void {
  program
    .command('script')
    .description('run a `kind: script` scenario and print its normalized transcript')
    .argument(
      '<files...>',
      'scenario files (YAML or JSON); several files, a directory (its *.yaml, *.yml) or a glob run as a suite',
    )
    .option('--json', 'one JSON object per line instead of a table')
    .option('--era <era>', ERA_HELP)
    .option('--bug <name>', BUG_HELP, collect, [])
    .option('--backend <backend>', 'model (the default) or kvm (the real kernel through /dev/kvm)', 'model')
    .option(
      '--trace-events',
      'include the tracepoints in the transcript: kvm_*async_pf*, and with vm.mmu_notifiers the MMU-notifier ones (model only)',
    )
    .option('--ftrace <file>', 'write the tracepoints in ftrace text format to FILE (model only)')
    .option('--tap', 'a suite: print TAP version 13 instead of PASS/FAIL/SKIP lines')
    .option('--junit <file>', 'a suite: also write the results as JUnit XML to FILE')
    .action(async (args: string[], flags: ScriptFlags) => {
      const inputs = expandInputs(args);
      if (inputs.suite || flags.tap || flags.junit !== undefined) {
        // Several files: one line per file and a summary (src/cli/script_suite.ts).
        if (flags.traceEvents || flags.ftrace !== undefined)
          throw new UsageError('--trace-events and --ftrace: one file at a time, not with a suite');
        if (flags.backend !== 'model' && flags.backend !== 'kvm')
          throw new UsageError(`--backend: expected model or kvm, got ${JSON.stringify(flags.backend)}`);
        return runScriptSuite(inputs.files, flags);
      }
      const file = inputs.files[0]!;
      if (flags.backend !== 'model' && flags.backend !== 'kvm')
        throw new UsageError(`--backend: expected model or kvm, got ${JSON.stringify(flags.backend)}`);
      if (flags.backend === 'kvm' && (flags.traceEvents || flags.ftrace !== undefined))
        throw new UsageError('--trace-events and --ftrace: only with --backend model');
      if (s390FileKind(file) !== null) {
        // arch: s390 scripts (docs/s390.md): the model only; exit 1 when an `expect` in it fails.
        if (flags.backend !== 'model' || flags.era !== undefined || flags.bug.length > 0 || flags.ftrace)
          throw new UsageError('--backend, --era, --bug and --ftrace: x86 scripts only');
        const r = runS390ScriptFile(file, { json: flags.json, traceEvents: flags.traceEvents });
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      const script = loadScriptWithFlags(file, flags);
      const ftraceOut = flags.ftrace !== undefined ? openOutput('--ftrace', flags.ftrace, [file]) : null;
      const print = (records: TranscriptRecord[]) =>
        process.stdout.write(flags.json ? formatJsonLines(records) : formatTable(records));
      if (flags.backend === 'kvm') {
        const r = await runScriptOnKvm(script);
        if (!('records' in r)) {
          process.stderr.write(`kvmsim: ${file}: kernel backend ${r.status}: ${r.reason}\n`);
          process.exitCode = EXIT_KVM_UNAVAILABLE;
          return;
        }
        print(r.records);
        expectExit(file, script, r.records);
        if (r.status === 'ok') for (const n of r.notes) process.stderr.write(`kvmsim: note: ${n}\n`);
        else process.stderr.write(`kvmsim: ${file}: the kernel run ended in a ${r.status}: ${r.reason}\n`);
        return;
      }
      const { records, ftrace } = runScript(script, {
        traceEvents: flags.traceEvents,
        ftrace: flags.ftrace !== undefined,
      });
      if (ftraceOut) {
        ftraceOut.write(`${FTRACE_HEADER}\n${ftrace.join('\n')}${ftrace.length ? '\n' : ''}`);
        ftraceOut.commit();
      }
      print(records);
      expectExit(file, script, records);
    });
}

/** A failed `expect:` (x86): the first mismatch on stderr, exit 1; the transcript is printed as always. */
function expectExit(
  file: string,
  script: Parameters<typeof expectFailure>[0],
  records: Parameters<typeof expectFailure>[1],
): void {
  const failed = expectFailure(script, records);
  if (failed === null) return;
  process.stderr.write(`kvmsim: ${file}: ${failed}\n`);
  process.exitCode = 1;
}
