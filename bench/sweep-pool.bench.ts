// `npm run bench sweep-pool`: the sweep worker pool's speed-up (docs/sweeps.md). The same sweep
// (bench/sweep/pool-bench.yaml: 8 runs of the web example, each a second or more of one core) with
// --jobs 1 (inline, one run after the other) and with one thread per core, paired in the same process and
// alternated (serial first, then parallel first), so that both sides see the same machine load. Reports
// each pair's wall times, the median speed-up, the per-run CPU time, and the load average around the
// measurement (the machine may be shared).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSweep } from '../src/sweep/load.ts';
import { SweepOutput } from '../src/sweep/output.ts';
import { runSweep } from '../src/sweep/run.ts';
import { median } from './stats.ts';

const PAIRS = Number(process.env.SWEEP_BENCH_PAIRS ?? 2);

interface Timed {
  ms: number;
  /** CPU time of the whole process (every thread), ms. */
  cpuMs: number;
  summary: string;
}

async function timed(jobs: number): Promise<Timed> {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-bench-sweep-'));
  try {
    const sweep = loadSweep(join(import.meta.dirname, 'sweep/pool-bench.yaml'));
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await runSweep(sweep, new SweepOutput(dir, sweep), { jobs, progress: false });
    const ms = performance.now() - t0;
    const c = process.cpuUsage(c0);
    return {
      ms,
      cpuMs: (c.user + c.system) / 1000,
      summary: readFileSync(join(dir, 'summary.json'), 'utf8'),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export default async function bench(): Promise<string> {
  const cores = availableParallelism();
  const load0 = loadavg();
  const rows: string[] = [];
  const ratios: number[] = [];
  let serialCpuMs = 0;
  for (let i = 0; i < PAIRS; i++) {
    const order = i % 2 === 0 ? [1, cores] : [cores, 1];
    const r: Record<number, Timed> = {};
    for (const jobs of order) r[jobs] = await timed(jobs);
    serialCpuMs += r[1]!.cpuMs;
    if (r[1]!.summary !== r[cores]!.summary) throw new Error('sweep bench: --jobs 1 and the pool disagree');
    ratios.push(r[1]!.ms / r[cores]!.ms);
    rows.push(
      `| ${i + 1} | ${order[0] === 1 ? 'serial first' : 'pool first'} | ${(r[1]!.ms / 1000).toFixed(1)} s | ${(r[cores]!.ms / 1000).toFixed(1)} s | ×${ratios[i]!.toFixed(2)} | ${(r[1]!.cpuMs / r[1]!.ms).toFixed(2)} / ${(r[cores]!.cpuMs / r[cores]!.ms).toFixed(2)} | ${(r[1]!.cpuMs / 1000).toFixed(1)} s / ${(r[cores]!.cpuMs / 1000).toFixed(1)} s |`,
    );
  }
  const load1 = loadavg();
  const perRun = serialCpuMs / PAIRS / 8 / 1000;
  return [
    '## Sweep worker pool (`npm run bench sweep-pool`)',
    '',
    `bench/sweep/pool-bench.yaml (8 runs of the web example, ${perRun.toFixed(1)} s of CPU per run, measured in`,
    `the serial runs) with --jobs 1 (inline) against --jobs ${cores} (one worker thread per core, ${cores} cores),`,
    'in the same process, alternating which goes first. Wall time includes starting the threads (each',
    'loads the model through tsx). Every pair checks that both summaries are identical.',
    '',
    `| pair | order | --jobs 1 | --jobs ${cores} | speed-up | cores used (CPU / wall) | CPU time |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Median speed-up: **×${median(ratios).toFixed(2)}** (target ≥ ×1.8 on 2 cores). Load average (1 min) ` +
      `${load0[0]!.toFixed(2)} before, ${load1[0]!.toFixed(2)} after: above ${cores} the cores were shared ` +
      'with other processes, and the speed-up measures how much of the machine this process could get. ' +
      '"Cores used" is the process\'s CPU time (all threads) over wall time: at most 1 for --jobs 1, at ' +
      `most ${cores} for the pool; the CPU time difference is the pool's own cost (starting the threads).`,
  ].join('\n');
}
