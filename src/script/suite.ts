// Running many scenario files as one suite (`kvmsim script|diff FILE...`, as kvm-unit-tests and the KVM
// selftests run many tests): expanding the arguments into a sorted list of files, and reporting one
// result per file as plain lines, TAP version 13, JUnit XML or JSON lines.
//
// Expansion is ours, not the shell's, so a quoted glob works and the order never depends on the
// directory listing: a directory stands for every *.yaml and *.yml file below it, a glob (`*`, `?`, `**`)
// for the files it matches; each argument's files are sorted (code-point order) and a file named twice
// runs once.
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from '../scenario/usage_error.ts';

export type SuiteStatus = 'pass' | 'fail' | 'skip';

export interface SuiteResult {
  readonly file: string;
  readonly status: SuiteStatus;
  /** One line: why it failed or was skipped, or what passed ("17 records, 4 expectations"). */
  readonly reason: string;
  /** The exit code the file alone would give (0 pass or skip, 1 a failed check, 2 bad input…). */
  readonly exitCode: number;
}

export interface ExpandedInputs {
  readonly files: string[];
  /** True when an argument was a directory or a glob, or there are several files: suite output. */
  readonly suite: boolean;
}

const GLOB = /[*?[]/;
const SCENARIO_FILE = /\.ya?ml$/;

const isDir = (p: string): boolean => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

const byCodePoint = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function walk(dir: string, out: string[]): void {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else if (e.isFile() && SCENARIO_FILE.test(e.name)) out.push(p);
  }
}

/** A glob segment as a regular expression: `*` any run of characters but `/`, `?` one, `[…]` a class. */
function segmentRegex(seg: string): RegExp {
  let re = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i]!;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        const body = seg
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\');
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** The files a glob matches (hidden entries only when the segment starts with a dot). */
function glob(pattern: string): string[] {
  const absolute = pattern.startsWith('/');
  const segs = pattern.split('/').filter((s, i) => s !== '' || i === 0);
  if (absolute) segs.shift();
  let current: string[] = [absolute ? '/' : '.'];
  const show = (base: string, name: string) => (base === '.' ? name : join(base, name));
  for (const [i, seg] of segs.entries()) {
    const last = i === segs.length - 1;
    const next: string[] = [];
    for (const base of current) {
      if (seg === '**') {
        // Zero or more directories.
        const dirs: string[] = [base];
        for (let k = 0; k < dirs.length; k++)
          for (const e of readdirSync(dirs[k]!, { withFileTypes: true }))
            if (e.isDirectory() && !e.name.startsWith('.')) dirs.push(show(dirs[k]!, e.name));
        next.push(...dirs);
        continue;
      }
      if (!GLOB.test(seg)) {
        const p = show(base, seg);
        try {
          statSync(p);
          next.push(p);
        } catch {}
        continue;
      }
      if (!isDir(base)) continue;
      const re = segmentRegex(seg);
      for (const e of readdirSync(base, { withFileTypes: true })) {
        if (e.name.startsWith('.') && !seg.startsWith('.')) continue;
        if (!re.test(e.name)) continue;
        if (!last && !e.isDirectory()) continue;
        next.push(show(base, e.name));
      }
    }
    current = next;
  }
  return current.filter((p) => !isDir(p));
}

/** Expands the command's file arguments (see the top of this file); a glob or directory with no files is an error. */
export function expandInputs(args: readonly string[]): ExpandedInputs {
  const files: string[] = [];
  const seen = new Set<string>();
  let suite = args.length > 1;
  for (const arg of args) {
    let found: string[];
    if (isDir(arg)) {
      suite = true;
      found = [];
      walk(arg, found);
      if (found.length === 0)
        throw new UsageError(`${arg}: no scenario files (*.yaml, *.yml) in the directory`);
    } else if (GLOB.test(arg) && !existsAsFile(arg)) {
      suite = true;
      found = glob(arg);
      if (found.length === 0) throw new UsageError(`${arg}: no file matches the pattern`);
    } else found = [arg];
    for (const f of found.sort(byCodePoint)) {
      if (seen.has(f)) continue;
      seen.add(f);
      files.push(f);
    }
  }
  return { files, suite };
}

function existsAsFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

const LABEL: Record<SuiteStatus, string> = { pass: 'PASS', fail: 'FAIL', skip: 'SKIP' };

/** `PASS examples/x.yaml: 17 records, 4 expectations`. */
export const formatResultLine = (r: SuiteResult): string => `${LABEL[r.status]} ${r.file}: ${r.reason}\n`;

export interface SuiteCounts {
  passed: number;
  failed: number;
  skipped: number;
}

export function countResults(results: readonly SuiteResult[]): SuiteCounts {
  const c = { passed: 0, failed: 0, skipped: 0 };
  for (const r of results) {
    if (r.status === 'pass') c.passed++;
    else if (r.status === 'fail') c.failed++;
    else c.skipped++;
  }
  return c;
}

/** `N passed, N failed, N skipped`. */
export function summaryLine(results: readonly SuiteResult[]): string {
  const c = countResults(results);
  return `${c.passed} passed, ${c.failed} failed, ${c.skipped} skipped`;
}

/**
 * The suite's exit code: 2 when some file could not be used (bad input), else 1 when some file failed,
 * else 0 (skipped files do not fail a suite).
 */
export function suiteExitCode(results: readonly SuiteResult[]): number {
  if (results.some((r) => r.exitCode === 2)) return 2;
  return results.some((r) => r.status === 'fail') ? 1 : 0;
}

/** TAP version 13: the version line and the plan (before any result). */
export const tapHeader = (n: number): string => `TAP version 13\n1..${n}\n`;

/** One TAP test line; a failure carries a YAML diagnostic block with the reason. */
export function tapLine(r: SuiteResult, index: number): string {
  // `#` starts a directive in a TAP description: keep the file name clear of it.
  const name = r.file.replace(/#/g, '\\#');
  if (r.status === 'skip') return `ok ${index} - ${name} # SKIP ${oneLine(r.reason)}\n`;
  if (r.status === 'pass') return `ok ${index} - ${name}\n`;
  return `not ok ${index} - ${name}\n  ---\n  message: ${JSON.stringify(r.reason)}\n  exit_code: ${r.exitCode}\n  ...\n`;
}

const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');

const xml = (s: string): string =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 allows no C0 controls but tab, LF and CR.
    // biome-ignore lint/suspicious/noControlCharactersInRegex: removing them is the point
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

/** JUnit XML (the Jenkins/GitLab dialect): one testsuite, one testcase per file. No times: deterministic. */
export function formatJunit(suiteName: string, results: readonly SuiteResult[]): string {
  const c = countResults(results);
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="${xml(suiteName)}" tests="${results.length}" failures="${c.failed}" skipped="${c.skipped}">`,
    `  <testsuite name="${xml(suiteName)}" tests="${results.length}" failures="${c.failed}" errors="0" skipped="${c.skipped}">`,
  ];
  for (const r of results) {
    const open = `    <testcase classname="${xml(suiteName)}" name="${xml(r.file)}"`;
    if (r.status === 'pass') lines.push(`${open}/>`);
    else if (r.status === 'skip')
      lines.push(`${open}>`, `      <skipped message="${xml(r.reason)}"/>`, '    </testcase>');
    else
      lines.push(
        `${open}>`,
        `      <failure message="${xml(r.reason)}" type="exit ${r.exitCode}">${xml(r.reason)}</failure>`,
        '    </testcase>',
      );
  }
  lines.push('  </testsuite>', '</testsuites>', '');
  return lines.join('\n');
}

/** One JSON object per file (`--json` with several files), then the summary object. */
export const jsonResultLine = (r: SuiteResult): string =>
  `${JSON.stringify({ file: r.file, status: r.status, reason: r.reason, exit_code: r.exitCode })}\n`;
export const jsonSummaryLine = (results: readonly SuiteResult[]): string =>
  `${JSON.stringify({ summary: countResults(results), exit_code: suiteExitCode(results) })}\n`;

/**
 * Prints results in file order as they arrive (a later file may finish first when runs overlap), in one
 * of the formats, and the summary at the end.
 */
export class SuiteReporter {
  private readonly results: Array<SuiteResult | undefined>;
  private printed = 0;
  constructor(
    private readonly files: readonly string[],
    private readonly format: 'lines' | 'tap' | 'json',
    private readonly write: (s: string) => void,
  ) {
    this.results = new Array(files.length);
    if (format === 'tap') write(tapHeader(files.length));
  }

  add(index: number, r: SuiteResult): void {
    this.results[index] = r;
    while (this.printed < this.files.length && this.results[this.printed] !== undefined) {
      const next = this.results[this.printed]!;
      this.printed++;
      this.write(
        this.format === 'tap'
          ? tapLine(next, this.printed)
          : this.format === 'json'
            ? jsonResultLine(next)
            : formatResultLine(next),
      );
    }
  }

  /** Prints the summary; returns every result. */
  finish(): SuiteResult[] {
    const all = this.results.filter((r): r is SuiteResult => r !== undefined);
    if (this.format === 'tap') this.write(`# ${summaryLine(all)}\n`);
    else if (this.format === 'json') this.write(jsonSummaryLine(all));
    else this.write(`${summaryLine(all)}\n`);
    return all;
  }
}
