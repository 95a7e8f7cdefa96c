// `kvmsim script|diff FILE...` with several files (or a directory, or a glob): every file runs in this
// process (the kernel backend runs each in its own worker child with a watchdog, two at a time), and the
// output is one line per file and a summary (src/script/suite.ts), or TAP 13 / JSON lines, plus a JUnit
// file with --junit.
import { runScriptsOnKvm } from '../oracle/backend.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { StuckError, UsageError } from '../scenario/usage_error.ts';
import { runScript } from '../script/runner.ts';
import type { Script } from '../script/schema.ts';
import { formatJunit, SuiteReporter, type SuiteResult, suiteExitCode } from '../script/suite.ts';
import type { TranscriptRecord } from '../script/transcript.ts';
import { comparable, diffTranscripts } from '../script/transcript_diff.ts';
import { checkX86Expect, expectationCount } from '../script/x86_expect.ts';
import { loadScriptWithVariants, type ScenarioFlags } from './load_script_flags.ts';
import { openOutput } from './output_file.ts';
import { runS390ScriptFile, s390FileKind } from './s390_adapter.ts';

export interface SuiteFlags extends ScenarioFlags {
  json?: boolean;
  tap?: boolean;
  junit?: string;
  backend?: string;
}

/** The first expectation that failed, named: `expect.ops[0]: op 5 (touch): value: expected 0x0, got 0x1000`. */
export function expectFailure(script: Script, records: readonly TranscriptRecord[]): string | null {
  if (!script.expect) return null;
  const m = checkX86Expect(script.expect, records);
  if (m.length === 0) return null;
  return `${m[0]!.at}: ${m[0]!.what}${m.length > 1 ? ` (and ${m.length - 1} more mismatch${m.length > 2 ? 'es' : ''})` : ''}`;
}

const s = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;

function passReason(records: readonly TranscriptRecord[], script: Script): string {
  const n = expectationCount(script.expect);
  return `${s(records.length, 'record')}, ${n === 0 ? 'no expect block' : `${s(n, 'expectation')} hold`}`;
}

/** A file that could not be used: the one-line error without the file name (the line names it). */
function errorResult(file: string, e: unknown): SuiteResult {
  if (e instanceof UsageError) {
    const msg =
      e instanceof ScenarioError && e.file === file ? `${e.field || '(top level)'}: ${e.allowed}` : e.message;
    return { file, status: 'fail', reason: msg, exitCode: 2 };
  }
  if (e instanceof StuckError) return { file, status: 'fail', reason: e.message, exitCode: 3 };
  throw e;
}

function reporterFor(files: readonly string[], flags: SuiteFlags): SuiteReporter {
  if (flags.tap && flags.json) throw new UsageError('--tap and --json: choose one output format');
  return new SuiteReporter(files, flags.tap ? 'tap' : flags.json ? 'json' : 'lines', (t) =>
    process.stdout.write(t),
  );
}

function finish(reporter: SuiteReporter, junit: ReturnType<typeof openOutput> | null, name: string): void {
  const results = reporter.finish();
  if (junit) {
    junit.write(formatJunit(name, results));
    junit.commit();
  }
  process.exitCode = suiteExitCode(results);
}

/** `kvmsim script FILE...`. */
export async function runScriptSuite(files: readonly string[], flags: SuiteFlags): Promise<void> {
  const junit = flags.junit !== undefined ? openOutput('--junit', flags.junit, files) : null;
  const reporter = reporterFor(files, flags);
  const kvm: Array<{ index: number; script: Script }> = [];
  for (const [index, file] of files.entries()) {
    try {
      if (s390FileKind(file) !== null) {
        if (flags.backend === 'kvm' || flags.era !== undefined || flags.bug.length > 0)
          throw new UsageError('--backend kvm, --era and --bug: x86 scripts only');
        const r = runS390ScriptFile(file);
        const bad = r.result.find(
          (l) =>
            l.result === 'mismatch' ||
            l.mismatch === true ||
            (l.result === 'invalid' && l.want !== 'invalid'),
        );
        reporter.add(
          index,
          r.exitCode === 0
            ? {
                file,
                status: 'pass',
                reason: `${s(r.result.length, 'record')}, expectations hold`,
                exitCode: 0,
              }
            : {
                file,
                status: 'fail',
                reason: `s390 ${bad ? JSON.stringify(bad) : 'expectation failed'}`,
                exitCode: 1,
              },
        );
        continue;
      }
      const script = await loadScriptWithVariants(file, flags);
      if (flags.backend === 'kvm') {
        kvm.push({ index, script });
        continue;
      }
      const { records } = runScript(script);
      const failed = expectFailure(script, records);
      reporter.add(
        index,
        failed === null
          ? { file, status: 'pass', reason: passReason(records, script), exitCode: 0 }
          : { file, status: 'fail', reason: failed, exitCode: 1 },
      );
    } catch (e) {
      reporter.add(index, errorResult(file, e));
    }
  }
  if (kvm.length > 0)
    await runScriptsOnKvm(
      kvm.map((k) => ({ script: k.script })),
      {
        onResult: (i, r) => {
          const { index, script } = kvm[i]!;
          const file = files[index]!;
          if (r.status === 'skipped' || r.status === 'unavailable')
            return reporter.add(index, {
              file,
              status: 'skip',
              reason: `kernel backend ${r.status}: ${r.reason}`,
              exitCode: 0,
            });
          if (r.status !== 'ok')
            return reporter.add(index, {
              file,
              status: 'fail',
              reason: `the kernel run ended in a ${r.status}: ${r.reason}`,
              exitCode: 1,
            });
          const failed = expectFailure(script, r.records);
          reporter.add(
            index,
            failed === null
              ? { file, status: 'pass', reason: passReason(r.records, script), exitCode: 0 }
              : { file, status: 'fail', reason: failed, exitCode: 1 },
          );
        },
      },
    );
  finish(reporter, junit, 'kvmsim script');
}

/** One divergence as a line: `differ at record 7: model {...}, kernel {...}`. */
function divergence(model: TranscriptRecord[], kernel: TranscriptRecord[]): string | null {
  const d = diffTranscripts(model, kernel);
  if (d.index < 0) return null;
  const line = (rec: TranscriptRecord | undefined) => (rec === undefined ? '(end)' : JSON.stringify(rec));
  return `differ at record ${d.index}: model ${line(d.left)}, kernel ${line(d.right)}`;
}

/** `kvmsim diff FILE...`: the model against the kernel, file by file; files the kernel cannot run are skipped. */
export async function runDiffSuite(files: readonly string[], flags: SuiteFlags): Promise<void> {
  const junit = flags.junit !== undefined ? openOutput('--junit', flags.junit, files) : null;
  const reporter = reporterFor(files, flags);
  const items: Array<{ index: number; script: Script; model: TranscriptRecord[] }> = [];
  for (const [index, file] of files.entries()) {
    try {
      if (s390FileKind(file) !== null)
        throw new ScenarioError(
          file,
          'arch',
          'kvmsim diff runs x86 scripts only (the kernel backend is x86)',
        );
      const script = await loadScriptWithVariants(file, flags);
      items.push({ index, script, model: comparable(runScript(script).records) });
    } catch (e) {
      reporter.add(index, errorResult(file, e));
    }
  }
  if (items.length > 0)
    await runScriptsOnKvm(
      items.map((k) => ({ script: k.script })),
      {
        onResult: (i, r) => {
          const { index, model } = items[i]!;
          const file = files[index]!;
          if (!('records' in r))
            return reporter.add(index, {
              file,
              status: 'skip',
              reason: `kernel backend ${r.status}: ${r.reason}`,
              exitCode: 0,
            });
          const d = divergence(model, comparable(r.records));
          const ended = r.status === 'ok' ? '' : ` (the kernel run ended in a ${r.status}: ${r.reason})`;
          reporter.add(
            index,
            d === null && r.status === 'ok'
              ? {
                  file,
                  status: 'pass',
                  reason: `same: ${s(model.length, 'record')} (${r.guest} guest run on ${r.fingerprint.kernel})`,
                  exitCode: 0,
                }
              : { file, status: 'fail', reason: `${d ?? 'same records'}${ended}`, exitCode: 1 },
          );
        },
      },
    );
  finish(reporter, junit, 'kvmsim diff');
}
