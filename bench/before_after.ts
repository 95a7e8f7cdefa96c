// Before/after: the simulator's and the explorer's speed at another commit against this work tree, in
// one run, interleaved, CPU time. For a change that must not slow the hot paths (a refactor, a new model
// layer), this is the number to record in BENCHMARKS.md:
//
//   node --import tsx bench/before_after.ts REF [ROUNDS]
//
// REF is checked out into a temporary git worktree (removed afterwards; its node_modules is this tree's).
// Each round runs, in a fresh child process per tree and in alternating order, (1) the calibration
// scenario to 200,000 guest page faults (faults per CPU second of the run) and (2) the explorer on
// examples/explore/shared-pages.yaml (states per CPU second of the search). CPU time
// (process.cpuUsage) is steadier than wall time on a shared machine. Prints the per-round figures, the
// medians, after/before of the medians and the median of the per-round ratios.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');
const [ref, roundsArg] = process.argv.slice(2);
if (ref === undefined) {
  console.error('usage: node --import tsx bench/before_after.ts REF [ROUNDS]');
  process.exit(2);
}
const rounds = Number(roundsArg ?? 5);

// The probe each child runs, from its tree's root: prints "faults/s states/s".
const PROBE = `
import { loadSimScenario, withMode } from './src/sim/load_sim.ts';
import { Simulator } from './src/sim/simulator.ts';
import { runExploreFile } from './bench/before_after_explore.ts';
const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
const sc = withMode(loadSimScenario('examples/sim/calibration.yaml'), 'interrupt');
sc.duration = 1e15; sc.warmup = 0; sc.autoWarmup = false; sc.maxFaults = 200000;
const sim = new Simulator(sc);
let t0 = cpu(); sim.run(); const fps = sim.faults / (cpu() - t0);
t0 = cpu(); const states = await runExploreFile('examples/explore/shared-pages.yaml'); const sps = states / (cpu() - t0);
console.log(fps, sps);
`;

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-before-'));
const before = join(tmp, 'tree');
execFileSync('git', ['worktree', 'add', '--detach', before, ref], { cwd: root, stdio: 'ignore' });
try {
  symlinkSync(join(root, 'node_modules'), join(before, 'node_modules'));
  // The explore helper is this tree's (older trees may lack it); it only calls the public CLI entry.
  execFileSync('cp', [join(root, 'bench/before_after_explore.ts'), join(before, 'bench/')]);
  const run = (dir: string): [number, number] => {
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', PROBE], {
      cwd: dir,
      encoding: 'utf8',
    });
    const [a, b] = out.trim().split(/\s+/).map(Number);
    return [a!, b!];
  };
  const res = { before: [] as Array<[number, number]>, after: [] as Array<[number, number]> };
  for (let r = 0; r < rounds; r++) {
    const order: Array<'before' | 'after'> = r % 2 === 0 ? ['before', 'after'] : ['after', 'before'];
    for (const which of order) res[which].push(run(which === 'before' ? before : root));
    console.error(
      `round ${r + 1}/${rounds}: before ${res.before.at(-1)!.join(' ')}, after ${res.after.at(-1)!.join(' ')}`,
    );
  }
  const m = (w: 'before' | 'after', i: 0 | 1) => median(res[w].map((x) => x[i]));
  const f = (x: number) => `${(x / 1e6).toFixed(3)} M`;
  console.log(`before = ${ref}, after = the work tree; median of ${rounds} interleaved rounds, CPU time`);
  const pr = (i: 0 | 1) => median(res.after.map((a, r) => a[i] / res.before[r]![i]));
  console.log('| measure | before | after | after / before | median of per-round ratios |');
  console.log('|---|---|---|---|---|');
  console.log(
    `| simulator, calibration, guest page faults per CPU second | ${f(m('before', 0))} | ${f(m('after', 0))} | ${(m('after', 0) / m('before', 0)).toFixed(2)} | ${pr(0).toFixed(2)} |`,
  );
  console.log(
    `| explorer, shared-pages.yaml, states per CPU second | ${f(m('before', 1))} | ${f(m('after', 1))} | ${(m('after', 1) / m('before', 1)).toFixed(2)} | ${pr(1).toFixed(2)} |`,
  );
} finally {
  execFileSync('git', ['worktree', 'remove', '--force', before], { cwd: root, stdio: 'ignore' });
  rmSync(tmp, { recursive: true, force: true });
}
