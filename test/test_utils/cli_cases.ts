// Runs many kvmsim command lines in one child process (test/cli/run_cli_cases.ts): one process start
// (about a second) for the lot instead of one per command line.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CliResult } from './cli_inprocess.ts';

export interface CliCase {
  readonly args: readonly string[];
  readonly env?: Record<string, string>;
  /** A directory whose files are listed after the command (result.files). */
  readonly dir?: string;
}

export interface CliCaseResult extends CliResult {
  readonly files: readonly string[];
}

const runner = join(import.meta.dirname, '../cli/run_cli_cases.ts');

export function runCliCases(cases: readonly CliCase[]): CliCaseResult[] {
  const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-cli-cases-'));
  try {
    writeFileSync(join(tmp, 'cases.json'), JSON.stringify(cases));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', runner, join(tmp, 'cases.json'), join(tmp, 'results.json')],
      { encoding: 'utf8', maxBuffer: 1 << 28 },
    );
    if (r.status !== 0) throw new Error(`run_cli_cases.ts failed (${r.status}): ${r.stderr}`);
    return JSON.parse(readFileSync(join(tmp, 'results.json'), 'utf8')) as CliCaseResult[];
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
