import { type KvmRunResult } from '../../src/oracle/backend.ts';
import type { HostFingerprint } from '../../src/oracle/fingerprint.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { type OracleScenario } from './catalogue.ts';
import { type Recorded } from './fixture.ts';
export interface OracleOutcome {
    scenario: OracleScenario;
    kernel: KvmRunResult;
    /** The model's transcript as `kvmsim diff` compares it. */
    model: TranscriptRecord[];
}
export interface OracleRun {
    outcomes: OracleOutcome[];
    /** Scenarios that agreed only when run again (timing-dependent scripts on a loaded machine). */
    retried: Array<{
        name: string;
        attempts: number;
        first: string;
    }>;
    fingerprint: HostFingerprint | undefined;
    /** Distinct scripts run on each backend. */
    distinct: number;
    /** Wall time of the kernel runs. */
    kernelSeconds: number;
}
export declare function runOracle(scenarios: readonly OracleScenario[], opts?: {
    parallel?: number;
    env?: NodeJS.ProcessEnv;
}): Promise<OracleRun>;
/**
 * What is wrong with an outcome, or null: the kernel's transcript must equal the model's, except for
 * a deliberate difference, where it must not (a difference that went away should be moved to cases/).
 */
export declare function disagreement(o: OracleOutcome): string | null;
/** The first differing record, as `kvmsim diff` would print it. */
export declare function firstDifference(model: readonly TranscriptRecord[], kernel: readonly TranscriptRecord[]): string;
/** The fixture entry for an outcome (throws for results that are not recordable facts). */
export declare function recordOf(o: OracleOutcome): Recorded;
/** What the model must produce for a recorded entry, or null when the entry has no transcript. */
export declare function expectedModel(r: Recorded): TranscriptRecord[] | null;
/** Counts per group, for reports: "matrix 2106 (1092 distinct)…". */
export declare function countByGroup(outcomes: readonly OracleOutcome[]): Record<string, Record<string, number>>;
