// `npm run bench sim-speed`: issue 19's simulator targets, each a ratio to a baseline measured in the
// same run.
//
// 1. The calibration scenario (examples/sim/calibration.yaml, interrupt mode) to 300,000 guest page
//    faults on one core, in this tree and in the baseline tree (SIM_SPEED_BASE, default 28f8509: main when
//    the speed issue was filed), beside the same closed queue with no protocol on the simulator's own
//    engine (bench/sim_speed/queue.ts). Faults per CPU second (process.cpuUsage() around the run).
// 2. examples/sim/web-overcommit.yaml for 300 ms of virtual time, this tree against the baseline: the
//    same simulated work, so the ratio is CPU time.
// 3. The aggregate through the worker pool: bench/sweep/calibration-pool.yaml (8 calibration runs of
//    300,000 faults) by the built command, `kvmsim sweep --jobs 1` and `--jobs 2`; faults per wall second
//    of the whole command (an aggregate is a wall-clock figure), paired and alternated.
//
// 4. Where valgrind is installed (SIM_SPEED_ICOUNT=0 skips it): instructions per calibration fault, this
//    tree against the baseline, counted by valgrind (cachegrind, no cache simulation) with V8 in
//    --single-threaded mode, so that compilation happens at the same points every run: the count repeats
//    to about 0.2%, where CPU time on this shared machine swings by 20% between rounds. Per fault is the
//    difference between a run to 150,000 and a run to 50,000 faults over 100,000, so start-up cancels.
//
// Every measurement of 1 and 2 runs in a fresh process from an esbuild bundle (the CLI ships bundles:
// dist/), because a second simulator in one process runs on code V8 has already specialised for the
// first. Rounds are interleaved and alternate their order; the figures are medians.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { mega as M, median } from './stats.ts';

const root = join(import.meta.dirname, '..');
const BASE = process.env.SIM_SPEED_BASE ?? '28f8509';
const ROUNDS = Number(process.env.SIM_SPEED_ROUNDS ?? 5);
const POOL_PAIRS = Number(process.env.SIM_SPEED_POOL_PAIRS ?? 3);
const CAL_FAULTS = 300_000;
const WEB_MS = 300;
const POOL_FAULTS = 8 * 300_000;
const ICOUNT = process.env.SIM_SPEED_ICOUNT !== '0' && spawnSync('valgrind', ['--version']).status === 0;

/** Instructions (valgrind's I refs) of a whole probe process to `faults` calibration faults. */
function icount(bundleFile: string, cwd: string, faults: number): number {
  const r = spawnSync(
    'valgrind',
    [
      '--tool=cachegrind',
      '--cache-sim=no',
      '--cachegrind-out-file=/dev/null',
      process.execPath,
      '--single-threaded',
      bundleFile,
      'calibration',
      String(faults),
    ],
    { cwd, encoding: 'utf8' },
  );
  const m = /I\s+refs:\s+([\d,]+)/.exec(r.stderr);
  if (r.status !== 0 || m === null)
    throw new Error(`sim-speed bench: valgrind: exit ${r.status}: ${r.stderr.slice(-500)}`);
  return Number(m[1]!.replaceAll(',', ''));
}

/** Instructions per calibration fault, start-up cancelled: (I(150k) - I(50k)) / 100k. */
const perFault = (bundleFile: string, cwd: string): number =>
  (icount(bundleFile, cwd, 150_000) - icount(bundleFile, cwd, 50_000)) / 100_000;

interface Probe {
  faults: number;
  cpuS: number;
}

async function bundle(entry: string, outfile: string, cwd: string): Promise<void> {
  await build({
    entryPoints: [join(cwd, entry)],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'error',
    absWorkingDir: cwd,
  });
}

function probe(bundleFile: string, cwd: string, args: string[]): Probe {
  const out = execFileSync(process.execPath, [bundleFile, ...args], { cwd, encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Probe;
}

/** `kvmsim sweep` of the calibration pool sweep: wall ms and the faults it simulated. */
function poolRun(jobs: number): { ms: number; faults: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-bench-simspeed-'));
  try {
    const t0 = performance.now();
    const r = spawnSync(
      process.execPath,
      [
        'bin/kvmsim.js',
        'sweep',
        'bench/sweep/calibration-pool.yaml',
        '--out',
        join(dir, 'out'),
        '--jobs',
        String(jobs),
        '--no-progress',
      ],
      { cwd: root, encoding: 'utf8' },
    );
    const ms = performance.now() - t0;
    if (r.status !== 0)
      throw new Error(`sim-speed bench: kvmsim sweep --jobs ${jobs}: exit ${r.status}: ${r.stderr}`);
    let faults = 0;
    for (const line of readFileSync(join(dir, 'out', 'points.jsonl'), 'utf8')
      .trim()
      .split('\n'))
      faults += (JSON.parse(line) as { metrics: Record<string, number> }).metrics[
        'total.faults.io_requests'
      ]!;
    return { ms, faults };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const X = (x: number) => `${x.toFixed(2)}×`;
const met = (ok: boolean) => (ok ? '**met**' : '**not met**');

export default async function bench(): Promise<string> {
  const load0 = loadavg()[0]!;
  const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-bench-simspeed-'));
  const baseTree = join(tmp, 'base');
  execFileSync('git', ['worktree', 'add', '--detach', baseTree, BASE], { cwd: root, stdio: 'ignore' });
  try {
    symlinkSync(join(root, 'node_modules'), join(baseTree, 'node_modules'));
    execFileSync('mkdir', ['-p', join(baseTree, 'bench/sim_speed')]);
    execFileSync('cp', [join(root, 'bench/sim_speed/probe.ts'), join(baseTree, 'bench/sim_speed/')]);
    const thisProbe = join(tmp, 'this-probe.cjs');
    const baseProbe = join(tmp, 'base-probe.cjs');
    const queue = join(tmp, 'queue.cjs');
    await bundle('bench/sim_speed/probe.ts', thisProbe, root);
    await bundle('bench/sim_speed/probe.ts', baseProbe, baseTree);
    await bundle('bench/sim_speed/queue.ts', queue, root);
    // The pool runs the built command: build it, so that it is this tree.
    execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'ignore' });

    const cal = { this: [] as number[], base: [] as number[], queue: [] as number[] };
    const web = { this: [] as number[], base: [] as number[] };
    const calRatio: number[] = [];
    const queueRatio: number[] = [];
    const webRatio: number[] = [];
    let webFaults = 0;
    for (let i = 0; i < ROUNDS; i++) {
      const rate = (p: Probe) => p.faults / p.cpuS;
      const jobs: [string, () => void][] = [
        ['this cal', () => cal.this.push(rate(probe(thisProbe, root, ['calibration', String(CAL_FAULTS)])))],
        [
          'base cal',
          () => cal.base.push(rate(probe(baseProbe, baseTree, ['calibration', String(CAL_FAULTS)]))),
        ],
        ['queue', () => cal.queue.push(rate(probe(queue, root, [String(CAL_FAULTS)])))],
        [
          'this web',
          () => {
            const p = probe(thisProbe, root, ['web', String(WEB_MS)]);
            webFaults = p.faults;
            web.this.push(rate(p));
          },
        ],
        ['base web', () => web.base.push(rate(probe(baseProbe, baseTree, ['web', String(WEB_MS)])))],
      ];
      // Alternate the order round by round, so that drift in the machine's load hits every side alike.
      for (const [, run] of i % 2 === 0 ? jobs : [...jobs].reverse()) run();
      calRatio.push(cal.this[i]! / cal.base[i]!);
      queueRatio.push(cal.this[i]! / cal.queue[i]!);
      webRatio.push(web.this[i]! / web.base[i]!);
    }

    const pool: { j1: number[]; j2: number[]; speedup: number[] } = { j1: [], j2: [], speedup: [] };
    for (let i = 0; i < POOL_PAIRS; i++) {
      const order = i % 2 === 0 ? [1, 2] : [2, 1];
      const r = new Map<number, { ms: number; faults: number }>();
      for (const j of order) r.set(j, poolRun(j));
      const a = r.get(1)!;
      const b = r.get(2)!;
      if (a.faults !== POOL_FAULTS || b.faults !== POOL_FAULTS)
        throw new Error(
          `sim-speed bench: the pool sweep simulated ${a.faults} and ${b.faults} faults, not ${POOL_FAULTS}`,
        );
      pool.j1.push(a.faults / (a.ms / 1000));
      pool.j2.push(b.faults / (b.ms / 1000));
      pool.speedup.push(a.ms / b.ms);
    }
    const ins = ICOUNT ? { this: perFault(thisProbe, root), base: perFault(baseProbe, baseTree) } : null;
    const load1 = loadavg()[0]!;

    const calThis = median(cal.this);
    const calBase = median(cal.base);
    const q = median(cal.queue);
    const webThis = median(web.this);
    const webBase = median(web.base);
    const agg = median(pool.j2);
    const per = (xs: number[]) => xs.map((x) => (x / 1e6).toFixed(3)).join(', ');
    const perX = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(', ');
    return [
      "## sim-speed: the simulator against issue 19's targets",
      '',
      `Baseline: the tree of ${BASE} (main when the speed issue was filed), in the same run. One core: ${ROUNDS} interleaved rounds, every measurement a fresh process running an esbuild bundle (as dist/ is), faults per CPU second of the run (\`process.cpuUsage()\`), medians. The pool: the built command, \`kvmsim sweep bench/sweep/calibration-pool.yaml\` (8 runs × 300,000 faults), ${POOL_PAIRS} alternated pairs, faults per wall second of the whole command.`,
      '',
      '| measure | baseline | this tree | ratio (median of per-round ratios) | target |',
      '|---|---|---|---|---|',
      `| calibration, guest page faults per CPU s, one core | ${M(calBase)} | ${M(calThis)} | ${X(calThis / calBase)} (${X(median(calRatio))}) | ≥ 0.5 M: ${met(calThis >= 0.5e6)} (${((100 * calThis) / 0.5e6).toFixed(0)}% of it) |`,
      `| the same queue with no protocol, same engine, faults per CPU s | – | ${M(q)} | calibration ÷ queue = ${(calThis / q).toFixed(3)} (${median(queueRatio).toFixed(3)}) | ≥ 0.18: ${met(calThis / q >= 0.18)} |`,
      `| web-overcommit.yaml, ${WEB_MS} ms simulated (${webFaults.toLocaleString('en-US')} faults), faults per CPU s | ${M(webBase)} | ${M(webThis)} | ${X(webThis / webBase)} (${X(median(webRatio))}) | ≥ 3×: ${met(webThis / webBase >= 3)} |`,
      `| the pool, 2 cores (\`--jobs 2\`), faults per wall s | – | ${M(agg)} | ×${median(pool.speedup).toFixed(2)} over \`--jobs 1\` (${M(median(pool.j1))}) | ≥ 1 M: ${met(agg >= 1e6)} (${((100 * agg) / 1e6).toFixed(0)}% of it) |`,
      ...(ins === null
        ? ['', 'Instructions per fault: skipped (no valgrind, or `SIM_SPEED_ICOUNT=0`).']
        : [
            '',
            `Instructions per calibration fault (valgrind cachegrind, \`node --single-threaded\`, (I(150,000 faults) − I(50,000)) / 100,000; reproducible to ~0.2%): baseline ${Math.round(ins.base).toLocaleString('en-US')}, this tree ${Math.round(ins.this).toLocaleString('en-US')}, this tree ÷ baseline **${(ins.this / ins.base).toFixed(3)}**. At the rate this machine ran those instructions in the timed rounds, 0.5 M faults/s would allow about ${Math.round((ins.this * calThis) / 0.5e6).toLocaleString('en-US')} per fault.`,
          ]),
      '',
      `Per round: calibration this ${per(cal.this)}; baseline ${per(cal.base)}; queue ${per(cal.queue)}; web this ${per(web.this)}; baseline ${per(web.base)}. Pool \`--jobs 2\` ${per(pool.j2)}, \`--jobs 1\` ${per(pool.j1)} (speed-ups ${perX(pool.speedup)}).`,
      '',
      `Load average (1 min): ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end. Environment: Node ${process.version}.`,
      '',
      'Command: `npm run bench sim-speed` (`SIM_SPEED_BASE`, `SIM_SPEED_ROUNDS`, `SIM_SPEED_POOL_PAIRS`)',
    ].join('\n');
  } finally {
    execFileSync('git', ['worktree', 'remove', '--force', baseTree], { cwd: root, stdio: 'ignore' });
    rmSync(tmp, { recursive: true, force: true });
  }
}
