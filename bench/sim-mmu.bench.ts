// `npm run bench sim-mmu`: the simulator with KVM's MMU notifiers modelled (`host.mmu_notifiers: true`)
// against the same scenario without them, in the same process: interleaved rounds (the order alternates),
// medians, CPU time of the process (process.cpuUsage, user + system) around `sim.run()`.
//
// 1. The calibration scenario (bench/sim.bench.ts's case 1): 300,000 faults, interrupt mode. With the
//    notifiers, each fault takes the invalidation-sequence snapshot and the retry check, and the bernoulli
//    pattern's "reclaimed meanwhile" evictions go through invalidate_range_start/end.
// 2. Reclaim: examples/sim/web-overcommit.yaml with host RAM just above the initial residency, so CLOCK
//    reclaims about one page per page-in from the start, 1 s simulated: every eviction is the x86
//    `host_reclaim` step (start → PTE clear → end) instead of a write of the page-state byte.
// Target: faults per CPU second with the notifiers within 10% of without; and with the MMU memory caches
// modelled as well (`host.mmu_caches`: topups, root loads, the page tables each install takes) within
// 10% of the notifiers alone.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { initialResidentPages, loadSimScenario, type SimScenario, withMode } from '../src/sim/load_sim.ts';
import { Simulator } from '../src/sim/simulator.ts';
import { median, mega } from './stats.ts';

const root = join(import.meta.dirname, '..');
const ex = (f: string) => join(root, 'examples/sim', f);
const ROUNDS = Number(process.env.SIM_MMU_BENCH_ROUNDS ?? 9);
const CAL_FAULTS = 300_000;

/** 0: no notifiers; 1: notifiers; 2: notifiers and memory caches. */
type Arm = 0 | 1 | 2;

function calibration(arm: Arm): SimScenario {
  const sc = withMode(loadSimScenario(ex('calibration.yaml')), 'interrupt');
  sc.duration = 1e15;
  sc.warmup = 0;
  sc.autoWarmup = false;
  sc.maxFaults = CAL_FAULTS;
  sc.mmuNotifiers = arm > 0;
  sc.mmuCaches = arm === 2;
  return sc;
}

function reclaim(arm: Arm): SimScenario {
  const sc = loadSimScenario(ex('web-overcommit.yaml'));
  sc.ramPages = sc.vms.reduce((a, v) => a + initialResidentPages(v), 0) + 1000;
  sc.duration = 1e9;
  sc.warmup = 0;
  sc.autoWarmup = false;
  sc.mmuNotifiers = arm > 0;
  sc.mmuCaches = arm === 2;
  return sc;
}

interface Sample {
  cpuFaultsPerS: number;
  wallFaultsPerS: number;
  faults: number;
  evictions: number;
}

function measure(sc: SimScenario): Sample {
  const sim = new Simulator(sc);
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  sim.run();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  let evictions = 0;
  for (const e of sim.host.evictions) evictions += e;
  return {
    cpuFaultsPerS: sim.faults / cpu,
    wallFaultsPerS: sim.faults / wall,
    faults: sim.faults,
    evictions,
  };
}

interface CaseResult {
  off: Sample[];
  on: Sample[];
  caches: Sample[];
}

/** The three arms in a rotating order per round (each arm goes first, second and third equally often). */
function runCase(make: (arm: Arm) => SimScenario): CaseResult {
  for (const a of [0, 1, 2] as const) measure(make(a));
  const res: Sample[][] = [[], [], []];
  for (let r = 0; r < ROUNDS; r++)
    for (let k = 0; k < 3; k++) {
      const a = ((r + k) % 3) as Arm;
      res[a]!.push(measure(make(a)));
    }
  return { off: res[0]!, on: res[1]!, caches: res[2]! };
}

function rows(name: string, res: CaseResult): string[] {
  const offCpu = median(res.off.map((s) => s.cpuFaultsPerS));
  const onCpu = median(res.on.map((s) => s.cpuFaultsPerS));
  const offWall = median(res.off.map((s) => s.wallFaultsPerS));
  const onWall = median(res.on.map((s) => s.wallFaultsPerS));
  const perRound = median(res.on.map((s, i) => s.cpuFaultsPerS / res.off[i]!.cpuFaultsPerS));
  const ev = (s: Sample[]) => s[0]!.evictions.toLocaleString('en-US');
  const f = (s: Sample[]) => s[0]!.faults.toLocaleString('en-US');
  const cCpu = median(res.caches.map((s) => s.cpuFaultsPerS));
  const cWall = median(res.caches.map((s) => s.wallFaultsPerS));
  const cPerRound = median(res.caches.map((s, i) => s.cpuFaultsPerS / res.on[i]!.cpuFaultsPerS));
  return [
    `| ${name} | off | ${f(res.off)} | ${ev(res.off)} | ${mega(offCpu)} | ${mega(offWall)} | 1.00 | |`,
    `| | on | ${f(res.on)} | ${ev(res.on)} | ${mega(onCpu)} | ${mega(onWall)} | **${(onCpu / offCpu).toFixed(3)}** | ${perRound.toFixed(3)} |`,
    `| | on + caches (÷ on) | ${f(res.caches)} | ${ev(res.caches)} | ${mega(cCpu)} | ${mega(cWall)} | **${(cCpu / onCpu).toFixed(3)}** | ${cPerRound.toFixed(3)} |`,
  ];
}

export default async function simMmuBench(): Promise<string> {
  const load0 = loadavg()[0]!;
  const cal = runCase(calibration);
  const rec = runCase(reclaim);
  const lines: string[] = [
    '## sim-mmu: the simulator with and without the MMU notifiers (and memory caches)',
    '',
  ];
  lines.push(
    `The same scenario with \`host.mmu_notifiers\` off, on, and on with \`host.mmu_caches\`, ${ROUNDS} interleaved ` +
      'rounds (the order rotates), one untimed warm-up run of each first, medians. Faults = page-in requests ' +
      '(`sim.faults`); CPU = `process.cpuUsage()` (user + system) around `sim.run()`. The caches row is compared ' +
      'with the notifiers alone.',
  );
  lines.push('');
  lines.push(
    '| case | notifiers | faults | evictions | faults / CPU s | faults / wall s | on ÷ off (CPU, medians) | on ÷ off (median of per-round ratios) |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  lines.push(
    ...rows(
      `calibration (\`examples/sim/calibration.yaml\`, interrupt, ${CAL_FAULTS.toLocaleString('en-US')} faults)`,
      cal,
    ),
  );
  lines.push(
    ...rows(
      'reclaim (`examples/sim/web-overcommit.yaml`, RAM = initial residency + 1,000 pages, 1 s simulated)',
      rec,
    ),
  );
  lines.push('');
  const ratio = (a: Sample[], b: Sample[]) =>
    median(a.map((s) => s.cpuFaultsPerS)) / median(b.map((s) => s.cpuFaultsPerS));
  const worst = Math.min(ratio(cal.on, cal.off), ratio(rec.on, rec.off));
  const worstC = Math.min(ratio(cal.caches, cal.on), ratio(rec.caches, rec.on));
  lines.push(
    `Target: on within 10% of off (ratio ≥ 0.90): ${worst >= 0.9 ? 'met' : `**not met**`} (worst ratio ${worst.toFixed(3)}). ` +
      `Caches within 10% of on: ${worstC >= 0.9 ? 'met' : `**not met**`} (worst ratio ${worstC.toFixed(3)}).`,
  );
  lines.push('');
  const per = (xs: Sample[]) => xs.map((s) => mega(s.cpuFaultsPerS)).join(', ');
  lines.push(
    `Per round, faults / CPU s: calibration off ${per(cal.off)}; on ${per(cal.on)}; caches ${per(cal.caches)}. ` +
      `Reclaim off ${per(rec.off)}; on ${per(rec.on)}; caches ${per(rec.caches)}.`,
  );
  lines.push('');
  const cpu = cpus();
  lines.push(
    `Environment: Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}; 1-minute load ` +
      `average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end (other jobs share the machine: ` +
      'single rounds vary by ±20%, which is why the rounds are many and interleaved).',
  );
  lines.push('');
  lines.push('Command: `npm run bench sim-mmu` (rounds: `SIM_MMU_BENCH_ROUNDS`, default 9)');
  return lines.join('\n');
}
