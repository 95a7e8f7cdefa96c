// The sweep tests' `kvmsim` child processes (the built command, bin/kvmsim.js): started with stdout and
// stderr collected, and a poll for a condition with a time limit.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');

export interface Proc {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  exit: Promise<number | null>;
}

/** Starts `kvmsim ...args`. */
export function kvmsim(args: string[]): Proc {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const p: Proc = {
    child,
    stdout: '',
    stderr: '',
    exit: new Promise((resolve) => child.once('exit', (code) => resolve(code))),
  };
  child.stdout!.on('data', (d) => {
    p.stdout += String(d);
  });
  child.stderr!.on('data', (d) => {
    p.stderr += String(d);
  });
  return p;
}

/** Waits until `cond()` holds, polling every 50 ms; throws naming `what` after `ms`. */
export async function until(what: string, cond: () => boolean, ms: number): Promise<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
