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

const PAIRS = Number(process.env.SWEEP_BENCH_PAIRS ?? 3);

interface Timed {
  ms: number;
  /** CPU time of the whole process (every thread), ms. */
  cpuMs: number;
  summary: string;
}

/** A variant: --jobs, and KVMSIM_POOL_CALLER_RUNS (0: every task on a thread, the pool before it used
 * the calling thread as a lane). */
interface Variant {
  name: string;
  jobs: number;
  env: string;
}

async function timed(v: Variant): Promise<Timed> {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-bench-sweep-'));
  try {
    const cmd = `${v.env} node bin/kvmsim.js sweep bench/sweep/pool-bench.yaml --out ${dir}/out --jobs ${v.jobs} --no-progress >/dev/null; times`;
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
  const variants: Variant[] = [
    { name: '--jobs 1', jobs: 1, env: '' },
    { name: `--jobs ${cores}`, jobs: cores, env: '' },
    { name: `--jobs ${cores}, threads only`, jobs: cores, env: 'KVMSIM_POOL_CALLER_RUNS=0' },
  ];
  const rows: string[] = [];
  const ratios: number[] = [];
  const before: number[] = [];
  let serialCpuMs = 0;
  for (let i = 0; i < PAIRS; i++) {
    // Rotate which variant goes first, so that every one sees the same machine load on average.
    const order = [...variants.slice(i % 3), ...variants.slice(0, i % 3)];
    const r = new Map<Variant, Timed>();
    for (const v of order) r.set(v, await timed(v));
    const [s1, p, t] = variants.map((v) => r.get(v)!) as [Timed, Timed, Timed];
    serialCpuMs += s1.cpuMs;
    if (s1.summary !== p.summary || s1.summary !== t.summary)
      throw new Error('sweep bench: --jobs 1 and the pool disagree');
    ratios.push(s1.ms / p.ms);
    before.push(s1.ms / t.ms);
    const cell = (x: Timed) => `${(x.ms / 1000).toFixed(1)} s (${(x.cpuMs / 1000).toFixed(1)} s CPU)`;
    rows.push(
      `| ${i + 1} | ${order[0]!.name} | ${cell(s1)} | ${cell(p)} | ${cell(t)} | ×${ratios[i]!.toFixed(2)} | ×${before[i]!.toFixed(2)} |`,
    );
  }
  const load1 = loadavg();
  const perRun = serialCpuMs / PAIRS / 16 / 1000;
  return [
    '## Sweep worker pool (`npm run bench sweep-pool`)',
    '',
    `bench/sweep/pool-bench.yaml (16 runs of the web example, ${perRun.toFixed(1)} s of CPU per run, measured in`,
    `the serial runs), \`node bin/kvmsim.js sweep\` (the built command, dist/) with --jobs 1 (inline) against`,
    `--jobs ${cores} (the calling thread and ${cores - 1} worker thread(s), tasks claimed from a shared counter) and against`,
    `--jobs ${cores} with every task on a thread (KVMSIM_POOL_CALLER_RUNS=0: the pool as it was before), whole`,
    `processes, ${PAIRS} rounds, rotating which goes first. Wall time includes starting node and the threads.`,
    'Every round checks that the three summaries are identical.',
    '',
    `| round | first | --jobs 1 | --jobs ${cores} | --jobs ${cores}, threads only | speed-up | speed-up, threads only |`,
    '|---|---|---|---|---|---|---|',
    ...rows,
    '',
    `Median speed-up: **×${median(ratios).toFixed(2)}** (target ≥ ×1.8 on 2 cores); threads only ×${median(before).toFixed(2)}. ` +
      `Load average (1 min) ${load0[0]!.toFixed(2)} before, ${load1[0]!.toFixed(2)} after: above ${cores} the cores were shared ` +
      'with other processes, and the speed-up measures how much of the machine this process could get.',
  ].join('\n');
}
