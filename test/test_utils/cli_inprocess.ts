// Runs kvmsim command lines inside this process through src/cli/main.ts's `main`, capturing what they
// write to stdout and stderr: a child process costs about a second (tsx compiles the sources), a command
// line in-process a few milliseconds once the modules are loaded.
//
// Use it from a process of its own (test/cli/run_cli_cases.ts, spawned once per test file): node:test
// reports through the test file's stdout, which the capture would swallow.
import { main } from '../../src/cli/main.ts';

export interface CliResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `kvmsim ...args` with `env` added to process.env for the duration of the call. */
export async function runCli(args: readonly string[], env: Record<string, string> = {}): Promise<CliResult> {
  const out: string[] = [];
  const err: string[] = [];
  const stdoutWrite = process.stdout.write;
  const stderrWrite = process.stderr.write;
  const saved: Record<string, string | undefined> = {};
  for (const k of Object.keys(env)) {
    saved[k] = process.env[k];
    process.env[k] = env[k];
  }
  const capture =
    (into: string[]) =>
    (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
      into.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
      const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    };
  process.stdout.write = capture(out) as typeof process.stdout.write;
  process.stderr.write = capture(err) as typeof process.stderr.write;
  let status: number;
  try {
    status = await main(['node', 'kvmsim', ...args]);
  } finally {
    process.stdout.write = stdoutWrite;
    process.stderr.write = stderrWrite;
    for (const k of Object.keys(saved)) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
  return { status, stdout: out.join(''), stderr: err.join('') };
}
