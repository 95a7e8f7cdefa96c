import { type TranscriptLine } from '../../src/script/s390_runner.ts';
export declare const CASES_DIR: string;
/** Runs a script file with events and asserts it is clean (no failed expect/want, no unwanted invalid op). */
export declare function runCase(name: string): TranscriptLine[];
/** The transcript line of op N. */
export declare function opLine(lines: readonly TranscriptLine[], n: number): TranscriptLine;
/** The events that follow op N's line (up to the next op line). */
export declare function eventsOf(lines: readonly TranscriptLine[], n: number): TranscriptLine[];
/** Events named `event` after op N. */
export declare const eventsNamed: (lines: readonly TranscriptLine[], n: number, event: string) => TranscriptLine[];
