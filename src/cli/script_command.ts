// `kvmsim script FILE`: run a script scenario on the model (or on /dev/kvm) and print its transcript.
// Only light modules are imported here; the action imports what it runs (src/cli/main.ts).
import type { Command } from 'commander';
import { UsageError } from '../scenario/usage_error.ts';
import type { TranscriptRecord } from '../script/transcript.ts';
import { openOutput } from './output_file.ts';
import { BUG_HELP, collect, ERA_HELP, type ScenarioFlags, VARIANT_HELP } from './scenario_flags.ts';
import type { expectFailure } from './script_suite.ts';

interface ScriptFlags extends ScenarioFlags {
  json?: boolean;
  ftrace?: string;
  trace?: string;
  traceEvents?: boolean;
  events?: string;
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
    .option('--variant <files>', VARIANT_HELP, collect, [])
    .option('--backend <backend>', 'model (the default) or kvm (the real kernel through /dev/kvm)', 'model')
    .option(
      '--trace-events',
      'include the tracepoints in the transcript: kvm_*async_pf*, and with vm.mmu_notifiers the MMU-notifier ones (model only)',
    )
    .option('--ftrace <file>', 'write the tracepoints in ftrace text format to FILE (model only)')
    .option(
      '--trace <file>',
      'write the tracepoints as Chrome Trace Event JSON instants to FILE (Perfetto; model only; gzipped if FILE ends in .gz)',
    )
    .option(
      '--events <list>',
      "the events --ftrace and --trace record, as tracefs's set_event names them: names or globs, commas between (default: kvm_try_async_get_page,kvm_async_pf*, the MMU-notifier ones; 'kvm:*' adds kvm_exit, kvm_entry, kvm_inj_*, kvm_apic_accept_irq, kvm_msr, kvm_hypercall, kvm_cpuid)",
    )
    .option('--tap', 'a suite: print TAP version 13 instead of PASS/FAIL/SKIP lines')
    .option('--junit <file>', 'a suite: also write the results as JUnit XML to FILE')
    .action(async (args: string[], flags: ScriptFlags) => {
      const { expandInputs } = await import('../script/suite.ts');
      const inputs = expandInputs(args);
      const suite = await import('./script_suite.ts');
      if (inputs.suite || flags.tap || flags.junit !== undefined) {
        // Several files: one line per file and a summary (src/cli/script_suite.ts).
        if (
          flags.traceEvents ||
          flags.ftrace !== undefined ||
          flags.trace !== undefined ||
          flags.events !== undefined
        )
          throw new UsageError(
            '--trace-events, --ftrace, --trace and --events: one file at a time, not with a suite',
          );
        if (flags.backend !== 'model' && flags.backend !== 'kvm')
          throw new UsageError(`--backend: expected model or kvm, got ${JSON.stringify(flags.backend)}`);
        return suite.runScriptSuite(inputs.files, flags);
      }
      const file = inputs.files[0]!;
      if (flags.backend !== 'model' && flags.backend !== 'kvm')
        throw new UsageError(`--backend: expected model or kvm, got ${JSON.stringify(flags.backend)}`);
      if (
        flags.backend === 'kvm' &&
        (flags.traceEvents || flags.ftrace !== undefined || flags.trace !== undefined)
      )
        throw new UsageError('--trace-events, --ftrace and --trace: only with --backend model');
      const { s390FileKind } = await import('./s390_kind.ts');
      if (s390FileKind(file) !== null) {
        // arch: s390 scripts (docs/s390.md): the model only; exit 1 when an `expect` in it fails.
        if (
          flags.backend !== 'model' ||
          flags.era !== undefined ||
          flags.bug.length > 0 ||
          (flags.variant ?? []).length > 0 ||
          flags.ftrace ||
          flags.trace ||
          flags.events !== undefined
        )
          throw new UsageError(
            '--backend, --era, --bug, --variant, --ftrace, --trace and --events: x86 scripts only',
          );
        const { runS390ScriptFile } = await import('./s390_adapter.ts');
        const r = runS390ScriptFile(file, { json: flags.json, traceEvents: flags.traceEvents });
        process.stdout.write(r.text);
        process.exitCode = r.exitCode;
        return;
      }
      const [{ loadScriptWithVariants }, { formatJsonLines, formatTable }] = await Promise.all([
        import('./load_script_flags.ts'),
        import('../script/transcript.ts'),
      ]);
      const script = await loadScriptWithVariants(file, flags);
      if (flags.backend === 'kvm' && (script.variants ?? []).length > 0)
        throw new UsageError(
          `--backend kvm: ${file}: variants change the model, and the real kernel runs as built; drop the variants or use --backend model`,
        );
      if (flags.events !== undefined && flags.ftrace === undefined && flags.trace === undefined)
        throw new UsageError('--events: only with --ftrace or --trace');
      const { parseEvents } = await import('../trace/events_filter.ts');
      const events = flags.events !== undefined ? parseEvents('--events', flags.events) : undefined;
      const ftraceOut = flags.ftrace !== undefined ? openOutput('--ftrace', flags.ftrace, [file]) : null;
      const traceOut =
        flags.trace !== undefined
          ? openOutput('--trace', flags.trace, flags.ftrace !== undefined ? [file, flags.ftrace] : [file])
          : null;
      const print = (records: TranscriptRecord[]) =>
        process.stdout.write(flags.json ? formatJsonLines(records) : formatTable(records));
      if (flags.backend === 'kvm') {
        const { runScriptOnKvm } = await import('../oracle/backend.ts');
        const r = await runScriptOnKvm(script);
        if (!('records' in r)) {
          process.stderr.write(`kvmsim: ${file}: kernel backend ${r.status}: ${r.reason}\n`);
          process.exitCode = EXIT_KVM_UNAVAILABLE;
          return;
        }
        print(r.records);
        expectExit(file, script, r.records, suite.expectFailure);
        if (r.status === 'ok') for (const n of r.notes) process.stderr.write(`kvmsim: note: ${n}\n`);
        else process.stderr.write(`kvmsim: ${file}: the kernel run ended in a ${r.status}: ${r.reason}\n`);
        return;
      }
      const [{ runScript }, { ftraceText }, { SCRIPT_VMM_PID, writeFtraceAsChrome }, { traceSink }] =
        await Promise.all([
          import('../script/runner.ts'),
          import('../trace/ftrace.ts'),
          import('../trace/ftrace_chrome.ts'),
          import('../trace/gzip_sink.ts'),
        ]);
      const { records, ftrace } = runScript(script, {
        traceEvents: flags.traceEvents,
        ftrace: flags.ftrace !== undefined || flags.trace !== undefined,
        ...(events ? { events } : {}),
      });
      if (traceOut) {
        const sink = traceSink(traceOut.path, traceOut);
        writeFtraceAsChrome(ftrace, script.name ?? file, SCRIPT_VMM_PID, sink.write);
        sink.finish();
      }
      if (ftraceOut) {
        ftraceOut.write(ftraceText(ftrace, script.vm.vcpus));
        ftraceOut.commit();
      }
      traceOut?.commit();
      print(records);
      expectExit(file, script, records, suite.expectFailure);
    });
}

/** A failed `expect:` (x86): the first mismatch on stderr, exit 1; the transcript is printed as always. */
function expectExit(
  file: string,
  script: Parameters<typeof expectFailure>[0],
  records: Parameters<typeof expectFailure>[1],
  check: typeof expectFailure,
): void {
  const failed = check(script, records);
  if (failed === null) return;
  process.stderr.write(`kvmsim: ${file}: ${failed}\n`);
  process.exitCode = 1;
}
