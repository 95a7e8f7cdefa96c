// Builds and runs the C reference engine (../shared/bench/des.c beside the repo) for bench/des.bench.ts.
//
// The source is compiled straight from where it lives (no copy in the repo) into a fresh temp dir, with the
// README's command line: gcc -O2 -o des_c des.c -lm. Every failure (no gcc, no source, compile error) is
// reported as a reason string so the bench can skip the C side with a note instead of failing.

import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where des.c is read from; KVMSIM_DES_C overrides (e.g. on a machine with the reference elsewhere). */
export const DES_C_SOURCE =
  process.env.KVMSIM_DES_C ?? join(import.meta.dirname, '..', '..', '..', 'shared', 'bench', 'des.c');

/** One line of des.c's JSON output. */
export interface CRun {
  events: number;
  faults: number;
  simTime: string;
  meanWait: string;
  wall: number;
  evps: number;
}

export type CBuild =
  | { ok: true; binary: string; gcc: string; cleanup: () => void }
  | { ok: false; reason: string };

export function buildDesC(): CBuild {
  const probe = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (probe.error || probe.status !== 0) return { ok: false, reason: 'gcc not found' };
  if (!existsSync(DES_C_SOURCE)) return { ok: false, reason: `${DES_C_SOURCE} not found` };
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-des-'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  const binary = join(dir, 'des_c');
  const cc = spawnSync('gcc', ['-O2', '-o', binary, DES_C_SOURCE, '-lm'], { encoding: 'utf8' });
  if (cc.error || cc.status !== 0) {
    cleanup();
    return { ok: false, reason: `gcc failed: ${(cc.stderr || String(cc.error)).split('\n')[0]}` };
  }
  return { ok: true, binary, gcc: probe.stdout.split('\n')[0]!, cleanup };
}

/**
 * Runs the binary once. des.c prints simTime with %.6f and meanWait with %.4f; they are kept as the printed
 * strings (re-parsing "%.6f" into a double would compare rounded values against exact ones).
 */
export function runDesC(binary: string, vcpus: number, cap: number, limit: number, seed: number): CRun {
  const out = execFileSync(binary, [String(vcpus), String(cap), String(limit), String(seed)], {
    encoding: 'utf8',
  });
  const m = /"simTime":([-\d.]+),"meanWait":([-\d.]+)/.exec(out);
  const j = JSON.parse(out) as { events: number; faults: number; wall: number; evps: number };
  if (!m) throw new Error(`unexpected des.c output: ${out}`);
  return { events: j.events, faults: j.faults, simTime: m[1]!, meanWait: m[2]!, wall: j.wall, evps: j.evps };
}
