// `npm run bench sweep-pool`: the sweep worker pool's speed-up (docs/sweeps.md). The same sweep
// (bench/sweep/pool-bench.yaml: 16 runs of the web example, each a second or more of one core) run by the
// built command as a user runs it (`kvmsim sweep --jobs 1`, inline, against `--jobs N`, one thread per
// core), whole processes, paired and alternated (serial first, then parallel first) so that both sides
// see the same machine load. Reports each pair's wall times, the median speed-up, the children's CPU time
// (getrusage of the waited-for children, through bash's `times`), and the load average around it.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.ts';

const root = join(import.meta.dirname, '..');

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
    const cmd = `node bin/kvmsim.js sweep bench/sweep/pool-bench.yaml --out ${dir}/out --jobs ${jobs} --no-progress >/dev/null; times`;
    const t0 = performance.now();
    const r = spawnSync('bash', ['-c', cmd], { cwd: root, encoding: 'utf8' });
    const ms = performance.now() - t0;
    if (r.status !== 0) throw new Error(`sweep bench: ${cmd}: exit ${r.status}: ${r.stderr}`);
    // `times` prints the shell's own times, then its children's: "XmY.YYYs XmZ.ZZZs".
    const child = r.stdout
      .trim()
      .split('\n')
      .at(-1)!
      .match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/)!;
    const cpuMs =
      (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000;
    return { ms, cpuMs, summary: readFileSync(join(dir, 'out', 'summary.json'), 'utf8') };
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
  const perRun = serialCpuMs / PAIRS / 16 / 1000;
  return [
    '## Sweep worker pool (`npm run bench sweep-pool`)',
    '',
    `bench/sweep/pool-bench.yaml (16 runs of the web example, ${perRun.toFixed(1)} s of CPU per run, measured in`,
    `the serial runs), \`node bin/kvmsim.js sweep\` (the built command, dist/) with --jobs 1 (inline) against`,
    `--jobs ${cores} (one worker thread per core, ${cores} cores), whole processes, alternating which goes first.`,
    'Wall time includes starting node and the threads. Every pair checks that both summaries are identical.',
    '',
    `| pair | order | --jobs 1 | --jobs ${cores} | speed-up | cores used (CPU / wall) | CPU time |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Median speed-up: **×${median(ratios).toFixed(2)}** (target ≥ ×1.8 on 2 cores). Load average (1 min) ` +
      `${load0[0]!.toFixed(2)} before, ${load1[0]!.toFixed(2)} after: above ${cores} the cores were shared ` +
      'with other processes, and the speed-up measures how much of the machine this process could get. ' +
      '"Cores used" is the process\'s CPU time (all threads, from getrusage of the child) over wall time: at most 1 for --jobs 1, at ' +
      `most ${cores} for the pool; the CPU time difference is the pool's own cost (starting the threads).`,
  ].join('\n');
}
