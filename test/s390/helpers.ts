// A CLI-free runner for s390 script scenarios in tests: load, parse, run with events, and small queries over
// the transcript.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { readScenarioFile } from '../../src/scenario/load.ts';
import {
  parseS390Script,
  runS390Script,
  type TranscriptLine,
  transcriptHasFailures,
} from '../../src/script/s390_runner.ts';

export const CASES_DIR = join(import.meta.dirname, 'cases');

/** Runs a script file with events and asserts it is clean (no failed expect/want, no unwanted invalid op). */
export function runCase(name: string): TranscriptLine[] {
  const file = join(CASES_DIR, name);
  const lines = runS390Script(parseS390Script(readScenarioFile(file), file), { traceEvents: true });
  const bad = lines.filter(
    (l) => l.result === 'mismatch' || l.mismatch === true || (l.result === 'invalid' && l.want !== 'invalid'),
  );
  assert.equal(transcriptHasFailures(lines), false, `${name}: ${JSON.stringify(bad)}`);
  return lines;
}

/** The transcript line of op N. */
export function opLine(lines: readonly TranscriptLine[], n: number): TranscriptLine {
  const line = lines.find((l) => l.op === n);
  assert.ok(line, `no op ${n}`);
  return line;
}

/** The events that follow op N's line (up to the next op line). */
export function eventsOf(lines: readonly TranscriptLine[], n: number): TranscriptLine[] {
  const at = lines.findIndex((l) => l.op === n);
  assert.ok(at >= 0, `no op ${n}`);
  const out: TranscriptLine[] = [];
  for (let i = at + 1; i < lines.length && lines[i]!.op === undefined; i++) out.push(lines[i]!);
  return out;
}

/** Events named `event` after op N. */
export const eventsNamed = (lines: readonly TranscriptLine[], n: number, event: string): TranscriptLine[] =>
  eventsOf(lines, n).filter((e) => e.event === event);
