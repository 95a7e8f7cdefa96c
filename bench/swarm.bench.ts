// `npm run bench swarm`: time to the first counterexample of a swarm search (`--swarm 4 --jobs 2`) against
// the single breadth-first and depth-first searches, on bug-library scenarios (docs/bug-library.md) and one
// grown configuration (bench/swarm/). Each is the built command as a user runs it (`node bin/kvmsim.js
// explore FILE ...`), a whole process: wall time from spawn to exit, which includes starting node (and,
// for the swarm, the worker threads), and the process's CPU time (every thread; getrusage of the waited-for
// child, through bash's `times`). Rounds are interleaved, the order of the three rotating; medians.
import { spawnSync } from 'node:child_process';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.ts';

const root = join(import.meta.dirname, '..');
const ROUNDS = Number(process.env.SWARM_BENCH_ROUNDS ?? 3);

const SCENARIOS = [
  'examples/explore/cr0pg-clears-queue.yaml',
  'examples/explore/present-queued-barrier.yaml',
  'examples/explore/seq-snapshot-late.yaml',
  'examples/explore/end-order-reversed.yaml',
  'examples/explore/no-memslot-interlock.yaml',
  'bench/swarm/present-queued-barrier-2vcpu.yaml',
  'bench/swarm/no-memslot-interlock-2vcpu.yaml',
  'bench/swarm/end-order-reversed-2vcpu.yaml',
];

const SEARCHES: Record<string, string[]> = {
  BFS: ['--bfs'],
  DFS: ['--dfs'],
  'swarm 4, 2 jobs': ['--swarm', '4', '--jobs', '2'],
};

interface Run {
  ms: number;
  cpuMs: number;
  property: string;
  steps: number;
}

function run(file: string, args: string[]): Run {
  const cmd = `node bin/kvmsim.js explore ${file} ${args.join(' ')} --json; times`;
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', cmd], { cwd: root, encoding: 'utf8' });
  const ms = performance.now() - t0;
  const lines = r.stdout.trim().split('\n');
  if (!lines[0]!.startsWith('{'))
    throw new Error(`swarm bench: ${cmd}: exit ${r.status}, no JSON: ${r.stdout}${r.stderr}`);
  const j = JSON.parse(lines[0]!) as { verdict: string; property?: string; steps?: string[] };
  if (j.verdict !== 'counterexample') throw new Error(`swarm bench: ${cmd}: ${j.verdict}`);
  const child = lines.at(-1)!.match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/)!;
  const cpuMs = (Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4])) * 1000;
  return { ms, cpuMs, property: j.property!, steps: j.steps!.length };
}

export default async function bench(): Promise<string> {
  const load0 = loadavg()[0]!;
  const names = Object.keys(SEARCHES);
  const rows: string[] = [];
  const ratios: { dfs: number[]; bfs: number[] } = { dfs: [], bfs: [] };
  for (const file of SCENARIOS) {
    const runs = new Map<string, Run[]>(names.map((n) => [n, []]));
    run(file, SEARCHES.DFS!); // untimed warm-up (page cache)
    for (let r = 0; r < ROUNDS; r++) {
      const order = [...names.slice(r % names.length), ...names.slice(0, r % names.length)];
      for (const n of order) runs.get(n)!.push(run(file, SEARCHES[n]!));
    }
    const med = (n: string) => ({
      ms: median(runs.get(n)!.map((x) => x.ms)),
      cpuMs: median(runs.get(n)!.map((x) => x.cpuMs)),
      first: runs.get(n)![0]!,
    });
    const b = med('BFS');
    const d = med('DFS');
    const s = med('swarm 4, 2 jobs');
    ratios.bfs.push(b.ms / s.ms);
    ratios.dfs.push(d.ms / s.ms);
    const cell = (x: ReturnType<typeof med>) =>
      `${(x.ms / 1000).toFixed(2)} s / ${(x.cpuMs / 1000).toFixed(2)} s (${x.first.property}, ${x.first.steps} steps)`;
    rows.push(
      `| ${file.replace(/^.*\//, '')} | ${cell(b)} | ${cell(d)} | ${cell(s)} | ×${(b.ms / s.ms).toFixed(2)} / ×${(d.ms / s.ms).toFixed(2)} |`,
    );
  }
  const load1 = loadavg()[0]!;
  return [
    '## Swarm search: time to the first counterexample (`npm run bench swarm`)',
    '',
    `\`node bin/kvmsim.js explore FILE --json\` (the built command, dist/) with --bfs, --dfs and \`--swarm 4 --jobs 2\` (four diversified bitstate searches, 2^28 bits each, on ${availableParallelism()} cores), whole processes: wall from spawn to exit (node start, for the swarm the worker threads too) and CPU time of the process (all threads, getrusage via bash \`times\`). ${ROUNDS} interleaved rounds after an untimed warm-up (one DFS), the order rotating; medians. Each cell: wall / CPU (the property found, the counterexample's length).`,
    '',
    '| scenario | BFS | DFS | swarm (4 searches, 2 jobs) | BFS ÷ swarm / DFS ÷ swarm (wall) |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Median wall ratio BFS ÷ swarm ×${median(ratios.bfs).toFixed(2)}, DFS ÷ swarm ×${median(ratios.dfs).toFixed(2)} (above 1: the swarm was faster). Load average (1 min) ${load0.toFixed(2)} before, ${load1.toFixed(2)} after, on ${availableParallelism()} cores shared with other jobs.`,
  ].join('\n');
}
