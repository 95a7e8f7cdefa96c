export interface CliResult {
    readonly status: number;
    readonly stdout: string;
    readonly stderr: string;
}
/** Runs `kvmsim ...args` with `env` added to process.env for the duration of the call. */
export declare function runCli(args: readonly string[], env?: Record<string, string>): Promise<CliResult>;
