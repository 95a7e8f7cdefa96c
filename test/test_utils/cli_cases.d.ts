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
export declare function runCliCases(cases: readonly CliCase[]): CliCaseResult[];
