// Recorded real-kernel results (test/fixtures/oracle/<kernel>-<vendor>.json): what one host's KVM did
// with every oracle scenario, and the host's fingerprint. `npm run oracle:record` writes them where
// /dev/kvm works; the model is checked against every file on every machine (recorded.test.ts); the
// live suite re-runs the scenarios and checks the file of its own host still holds.
//
// One scenario per line, so that a re-recording shows up in `git diff` scenario by scenario.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HostFingerprint } from '../../src/oracle/fingerprint.ts';
import type { GuestKind } from '../../src/oracle/machine.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';

export type RecordedFingerprint = Omit<HostFingerprint, 'device'>;

export type Recorded = {
  /** scriptHash() of the script when it was recorded: a changed script makes the entry stale. */
  script: string;
} & (
  | {
      status: 'ok';
      guest: GuestKind;
      /** The kernel's transcript (comparable() would change nothing in it). */
      transcript: TranscriptRecord[];
      /** Only for deliberate differences: why, and the model's comparable() transcript. */
      difference?: string;
      model?: TranscriptRecord[];
    }
  /** The run stopped at an op that never completes; the transcript ends with that op's record. */
  | { status: 'hang'; reason: string; transcript: TranscriptRecord[] }
  /** The host or the guests cannot show this script. */
  | { status: 'skipped'; reason: string }
);

export interface OracleFixture {
  fingerprint: RecordedFingerprint;
  scenarios: Record<string, Recorded>;
}

export const fixtureDir = join(import.meta.dirname, '..', 'fixtures', 'oracle');

export function fixtureFile(fp: RecordedFingerprint): string {
  return `${fp.kernel}-${fp.vendor}.json`.replace(/[^A-Za-z0-9._-]/g, '_');
}

export function recordedFingerprint(fp: HostFingerprint): RecordedFingerprint {
  const { device: _device, ...rest } = fp;
  return rest;
}

export function loadFixtures(): Array<{ file: string; fixture: OracleFixture }> {
  let files: string[];
  try {
    files = readdirSync(fixtureDir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files.sort().map((file) => ({
    file,
    fixture: JSON.parse(readFileSync(join(fixtureDir, file), 'utf8')) as OracleFixture,
  }));
}

export function loadFixtureFor(fp: RecordedFingerprint): OracleFixture | null {
  try {
    return JSON.parse(readFileSync(join(fixtureDir, fixtureFile(fp)), 'utf8')) as OracleFixture;
  } catch {
    return null;
  }
}

export function serializeFixture(f: OracleFixture): string {
  const lines = Object.entries(f.scenarios).map(
    ([name, r]) => `  ${JSON.stringify(name)}: ${JSON.stringify(r)}`,
  );
  return `{\n "fingerprint": ${JSON.stringify(f.fingerprint)},\n "scenarios": {\n${lines.join(',\n')}\n }\n}\n`;
}

export function writeFixture(f: OracleFixture): string {
  const path = join(fixtureDir, fixtureFile(f.fingerprint));
  writeFileSync(path, serializeFixture(f));
  return path;
}

/** Compares records as data, whatever the key order. */
export function sameRecords(a: readonly TranscriptRecord[], b: readonly TranscriptRecord[]): boolean {
  return canonical(a) === canonical(b);
}

export function canonical(v: unknown): string {
  return JSON.stringify(v, (_, x) =>
    x && typeof x === 'object' && !Array.isArray(x)
      ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : p > q ? 1 : 0)))
      : x,
  );
}
