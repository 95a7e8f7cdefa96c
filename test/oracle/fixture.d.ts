import type { HostFingerprint } from '../../src/oracle/fingerprint.ts';
import type { GuestKind } from '../../src/oracle/machine.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
export type RecordedFingerprint = Omit<HostFingerprint, 'device'>;
export type Recorded = {
    /** scriptHash() of the script when it was recorded: a changed script makes the entry stale. */
    script: string;
} & ({
    status: 'ok';
    guest: GuestKind;
    /** The kernel's transcript (comparable() would change nothing in it). */
    transcript: TranscriptRecord[];
    /** Only for deliberate differences: why, and the model's comparable() transcript. */
    difference?: string;
    model?: TranscriptRecord[];
}
/** The run stopped at an op that never completes; the transcript ends with that op's record. */
 | {
    status: 'hang';
    reason: string;
    transcript: TranscriptRecord[];
}
/** The host or the guests cannot show this script. */
 | {
    status: 'skipped';
    reason: string;
});
export interface OracleFixture {
    fingerprint: RecordedFingerprint;
    scenarios: Record<string, Recorded>;
}
export declare const fixtureDir: string;
export declare function fixtureFile(fp: RecordedFingerprint): string;
export declare function recordedFingerprint(fp: HostFingerprint): RecordedFingerprint;
export declare function loadFixtures(): Array<{
    file: string;
    fixture: OracleFixture;
}>;
export declare function loadFixtureFor(fp: RecordedFingerprint): OracleFixture | null;
export declare function serializeFixture(f: OracleFixture): string;
export declare function writeFixture(f: OracleFixture): string;
/** Compares records as data, whatever the key order. */
export declare function sameRecords(a: readonly TranscriptRecord[], b: readonly TranscriptRecord[]): boolean;
export declare function canonical(v: unknown): string;
