// `npm run bench sim-hostmm`: the simulator with the host memory-management generators (KSM, NUMA
// balancing, THP, compaction) on against the same scenario with them off, in the same process: interleaved rounds (the order
// alternates), medians, CPU time of the process (process.cpuUsage, user + system) around `sim.run()`.
//
// The figure is simulated guest touches (page accesses) per CPU second: the generators add host events
// (scans, merges, migrations) and the guest faults those cause, and this is what that costs the
// simulator per unit of guest activity. Both sides have the MMU notifiers on (the generators need them).
// 1. KSM: examples/sim/ksm-dense.yaml, 1.5 s simulated (merging starts in the second full scan).
// 2. NUMA: examples/sim/numa-balanced.yaml, 0.5 s simulated (a scan every 100 ms).
// 3. THP: examples/sim/thp-database.yaml, 0.5 s simulated (khugepaged every 10 ms, 128 ranges a time).
// 4. Compaction: examples/sim/compaction.yaml, 1 s simulated (20,000 pages migrated every 500 ms).
// "Off" keeps the MMU notifiers, mmu_lock timing included; NUMA "on" includes its timed windows.
// Target (issue 21): none set; reported as measured.
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { loadSimScenario, type SimScenario } from '../src/sim/load_sim.ts';
import { Simulator } from '../src/sim/simulator.ts';
import { median, mega } from './stats.ts';

const root = join(import.meta.dirname, '..');
const ex = (f: string) => join(root, 'examples/sim', f);
const ROUNDS = Number(process.env.SIM_HOSTMM_BENCH_ROUNDS ?? 5);

function ksm(on: boolean): SimScenario {
  const sc = loadSimScenario(ex('ksm-dense.yaml'));
  sc.duration = 1.5e9;
  sc.warmup = 0;
  sc.autoWarmup = false;
  if (!on) sc.ksm = null;
  return sc;
}

function numa(on: boolean): SimScenario {
  const sc = loadSimScenario(ex('numa-balanced.yaml'));
  sc.duration = 0.5e9;
  sc.warmup = 0;
  sc.autoWarmup = false;
  if (!on) sc.numa = null;
  return sc;
}

function thp(on: boolean): SimScenario {
  const sc = loadSimScenario(ex('thp-database.yaml'));
  sc.duration = 0.5e9;
  sc.warmup = 0;
  sc.autoWarmup = false;
  if (!on) sc.thp = null;
  return sc;
}

function compaction(on: boolean): SimScenario {
  const sc = loadSimScenario(ex('compaction.yaml'));
  sc.duration = 1e9;
  sc.warmup = 0;
  sc.autoWarmup = false;
  if (!on) sc.compaction = null;
  return sc;
}

interface Sample {
  touchesPerCpuS: number;
  touches: number;
  guestFaults: number;
}

function measure(sc: SimScenario): Sample {
  const sim = new Simulator(sc);
  const c0 = process.cpuUsage();
  sim.run();
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1e6;
  let touches = 0;
  let guestFaults = 0;
  for (const sv of sim.vms) {
    for (let t = 0; t < sv.nTasks; t++) touches += sv.guest.state.task.touches[t]!;
    for (const v of sv.vm.vcpus) guestFaults += v.stat.pf_taken;
  }
  return { touchesPerCpuS: touches / cpu, touches, guestFaults };
}

function runCase(make: (on: boolean) => SimScenario): { off: Sample[]; on: Sample[] } {
  measure(make(false));
  measure(make(true));
  const off: Sample[] = [];
  const on: Sample[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    if (r % 2 === 0) {
      off.push(measure(make(false)));
      on.push(measure(make(true)));
    } else {
      on.push(measure(make(true)));
      off.push(measure(make(false)));
    }
  }
  return { off, on };
}

export default async function simHostMmBench(): Promise<string> {
  const load0 = loadavg()[0]!;
  const cases = [
    { name: 'KSM (`examples/sim/ksm-dense.yaml`, 1.5 s simulated)', res: runCase(ksm) },
    { name: 'NUMA balancing (`examples/sim/numa-balanced.yaml`, 0.5 s simulated)', res: runCase(numa) },
    { name: 'THP (`examples/sim/thp-database.yaml`, 0.5 s simulated)', res: runCase(thp) },
    { name: 'Compaction (`examples/sim/compaction.yaml`, 1 s simulated)', res: runCase(compaction) },
  ];
  const lines = ['## sim-hostmm: the simulator with the host memory-management generators on and off', ''];
  lines.push(
    `The same scenario with the generator on and off (\`host.mmu_notifiers\` on in both), ${ROUNDS} interleaved ` +
      'rounds (the order alternates), one untimed warm-up run of each first, medians. Touches = guest page ' +
      'accesses simulated; guest faults = EPT violations KVM handled; CPU = `process.cpuUsage()` (user + ' +
      'system) around `sim.run()`.',
  );
  lines.push('');
  lines.push('| case | generator | touches | guest faults | touches / CPU s | on ÷ off (CPU, medians) |');
  lines.push('|---|---|---|---|---|---|');
  for (const { name, res } of cases) {
    const off = median(res.off.map((s) => s.touchesPerCpuS));
    const on = median(res.on.map((s) => s.touchesPerCpuS));
    const n = (x: number) => x.toLocaleString('en-US');
    lines.push(
      `| ${name} | off | ${n(res.off[0]!.touches)} | ${n(res.off[0]!.guestFaults)} | ${mega(off)} | 1.00 |`,
      `| | on | ${n(res.on[0]!.touches)} | ${n(res.on[0]!.guestFaults)} | ${mega(on)} | **${(on / off).toFixed(3)}** |`,
    );
  }
  lines.push('');
  const cpu = cpus();
  lines.push(
    `Environment: Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}; 1-minute load ` +
      `average ${load0.toFixed(1)} at the start, ${loadavg()[0]!.toFixed(1)} at the end.`,
  );
  lines.push('');
  lines.push('Command: `npm run bench sim-hostmm` (rounds: `SIM_HOSTMM_BENCH_ROUNDS`, default 5)');
  return lines.join('\n');
}
