// `npm run bench sim`: the workload simulator (src/sim) — speed, tracing cost, and memory at scale.
//
// 1. Faults/s on the calibration scenario (examples/sim/calibration.yaml, interrupt mode, one core),
//    interleaved with the C reference engine des.c (config A, compiled by bench/des/c_baseline.ts) and
//    with the bare host+guest model driven by a trivial loop (no simulator: the ceiling the model sets).
// 2. Tracing: the web example with tracing off, with the trace hooks on but nothing written, and with
//    Chrome JSON + ftrace written (to a sink that only counts bytes): run time and trace events/s.
// 3. Scale: examples/sim/host-1tib.yaml (64 VMs × 16 GiB, 512 vCPUs, 2.7 × 10^8 pages) to 10^7 faults
//    in a child process, which reports its peak RSS. SIM_BENCH_TIB_FAULTS overrides the count.
// The same simulator with host.mmu_notifiers on against off is bench/sim-mmu.bench.ts (`npm run bench
// sim-mmu`), a module of its own so that it can be re-measured without the 1 TiB run's minutes.

import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { LinuxGuest } from '../src/guest/x86/linux/guest.ts';
import { async_pf_execute } from '../src/host/x86/async_pf.ts';
import { eraConfig } from '../src/host/x86/era.ts';
import { kvm_vcpu_run_step, STEP_BLOCKED } from '../src/host/x86/run_loop.ts';
import { createVm } from '../src/host/x86/vm.ts';
import { host_page_evict } from '../src/mem/page_state.ts';
import { loadSimScenario, withMode } from '../src/sim/load_sim.ts';
import { runSimulation } from '../src/sim/run.ts';
import { SimTrace } from '../src/sim/sim_trace.ts';
import { Simulator } from '../src/sim/simulator.ts';
import { ChromeTraceWriter } from '../src/trace/chrome.ts';
import { FtraceWriter } from '../src/trace/ftrace.ts';
import { buildDesC, runDesC } from './des/c_baseline.ts';
import { median, mega } from './stats.ts';

const root = join(import.meta.dirname, '..');
const ex = (f: string) => join(root, 'examples/sim', f);
const ROUNDS = 3;
const CAL_FAULTS = 300_000;

/** Faults per wall second of the simulator on the calibration scenario. */
function calibrationRun(faults: number): number {
  const sc = withMode(loadSimScenario(ex('calibration.yaml')), 'interrupt');
  sc.duration = 1e15;
  sc.warmup = 0;
  sc.autoWarmup = false;
  sc.maxFaults = faults;
  const sim = new Simulator(sc);
  const t0 = performance.now();
  sim.run();
  return sim.faults / ((performance.now() - t0) / 1000);
}

/**
 * The model alone: one vCPU, one task alternating a 1 ns burst and a touch of a swapped-out page whose
 * worker runs at once, stepped by a bare loop. Fault cycles per wall second.
 */
function bareModelRun(faults: number): number {
  let gfn = 2000;
  let flip = false;
  let pending = -1;
  const touch = { kind: 'touch' as const, gpa: 0, write: false };
  const compute = { kind: 'compute' as const, ns: 1 };
  const vm = createVm(
    eraConfig('6.18'),
    {
      irqchip: true,
      enforce_pv_cpuid: false,
      kvm_features: 0x01007efb,
      hlt_in_guest: false,
      guest_state_protected: false,
      tdp: true,
      memory: 64 << 20,
      vcpus: 1,
    },
    {
      asyncWorkQueued: (_v, slot) => {
        pending = slot;
      },
      syncFault() {},
      kick() {},
      trace: null,
    },
  );
  const guest = new LinuxGuest(
    vm,
    {
      next: () => {
        flip = !flip;
        if (flip) return compute;
        gfn = gfn >= 15000 ? 2000 : gfn + 1;
        touch.gpa = gfn * 4096;
        host_page_evict(vm.mem.pageState, gfn);
        return touch;
      },
    },
    { sink: null },
  );
  vm.guest = guest;
  guest.spawnTask(0);
  const v = vm.vcpus[0]!;
  let n = 0;
  const t0 = performance.now();
  while (n < faults) {
    const r = kvm_vcpu_run_step(vm, v);
    if (pending >= 0) {
      n++;
      const s = pending;
      pending = -1;
      async_pf_execute(vm, v, s);
    } else if (r === STEP_BLOCKED) throw new Error('bare model: vCPU blocked');
  }
  return n / ((performance.now() - t0) / 1000);
}

/** The web example for `ms` of virtual time; tracing 'off', 'hooks' (nothing written) or 'full'. */
function tracingRun(
  mode: 'off' | 'hooks' | 'full',
  ms: number,
): { wall: number; events: number; bytes: number } {
  const sc = loadSimScenario(ex('web-overcommit.yaml'));
  sc.duration = ms * 1e6;
  sc.warmup = 0;
  sc.autoWarmup = false;
  let bytes = 0;
  const sink = (s: string) => {
    bytes += s.length;
  };
  const chrome = mode === 'full' ? new ChromeTraceWriter(sink) : null;
  const ftrace = mode === 'full' ? new FtraceWriter(sink) : null;
  const tracer = mode === 'off' ? null : new SimTrace({ chrome, ftrace }, 100_000);
  const t0 = performance.now();
  runSimulation(sc, { tracer });
  const wall = (performance.now() - t0) / 1000;
  return { wall, events: (chrome?.events ?? 0) + (ftrace?.lines ?? 0), bytes };
}

/** Child mode: the 1 TiB host to `faults` faults; prints one JSON line. */
function tibChild(faults: number): void {
  const sc = loadSimScenario(ex('host-1tib.yaml'));
  sc.maxFaults = faults;
  sc.duration = 1e15;
  const t0 = performance.now();
  const sim = new Simulator(sc);
  const t1 = performance.now();
  sim.run();
  const t2 = performance.now();
  process.stdout.write(
    `${JSON.stringify({
      pages: sim.host.totalPages,
      vcpus: sim.vcpus.length,
      faults: sim.faults,
      buildS: (t1 - t0) / 1000,
      runS: (t2 - t1) / 1000,
      simulatedS: sim.now / 1e9,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    })}\n`,
  );
}

if (process.argv[2] === '--tib-child') tibChild(Number(process.argv[3]));

export default async function simBench(): Promise<string> {
  const lines: string[] = ['## sim: the workload simulator', ''];
  // 1. Calibration faults/s against des.c and the bare model.
  const build = buildDesC();
  calibrationRun(CAL_FAULTS / 5);
  bareModelRun(100_000);
  const sim: number[] = [];
  const bare: number[] = [];
  const c: number[] = [];
  try {
    for (let r = 0; r < ROUNDS; r++) {
      if (build.ok) c.push(runDesC(build.binary, 64, 4, 1_000_000, 12345).evps);
      sim.push(calibrationRun(CAL_FAULTS));
      bare.push(bareModelRun(1_000_000));
    }
  } finally {
    if (build.ok) build.cleanup();
  }
  const ms = median(sim);
  const mb = median(bare);
  lines.push(
    `Calibration scenario (\`examples/sim/calibration.yaml\`, interrupt mode: 8 vCPUs, one task each, p = 0.25 ` +
      `of a fault after each burst, so ~4 bursts per fault), ${CAL_FAULTS.toLocaleString('en-US')} faults per run, ` +
      `median of ${ROUNDS} interleaved rounds, one core:`,
  );
  lines.push('');
  lines.push('| measure | value | ratio |');
  lines.push('|---|---|---|');
  lines.push(`| simulator, guest page faults/s | ${mega(ms)} | 1.00 |`);
  lines.push(
    `| bare host+guest model, fault cycles/s (no simulator; 14 model steps per fault) | ${mega(mb)} | ${(mb / ms).toFixed(2)} |`,
  );
  if (build.ok) {
    const mc = median(c);
    lines.push(`| des.c (C, config A: 64 vCPUs, cap 4), events/s | ${mega(mc)} | ${(mc / ms).toFixed(2)} |`);
    lines.push('');
    lines.push(
      `Simulator faults/s ÷ des.c events/s = **${(ms / mc).toFixed(4)}** (des.c does one heap event per fault or run ` +
        'slice; a simulated fault here is ~20 model steps of the host and the Linux guest plus ~5 heap events).',
    );
  } else lines.push('', `des.c skipped: ${build.reason}.`);
  lines.push('');
  lines.push(
    `Target ≥ 1 M faults/s: ${ms >= 1e6 ? 'met' : `**not met** (${mega(ms)}); the bare model's own ceiling is ${mega(mb)} — see docs/simulator.md, "Speed"`}.`,
  );
  lines.push('');
  lines.push(
    `Per round: simulator ${sim.map((x) => mega(x)).join(', ')}; bare model ${bare.map((x) => mega(x)).join(', ')}${build.ok ? `; des.c ${c.map((x) => mega(x)).join(', ')}` : ''}.`,
  );
  lines.push('');

  // 2. Tracing.
  tracingRun('full', 50);
  tracingRun('off', 50);
  const off: number[] = [];
  const hooks: number[] = [];
  const full: number[] = [];
  let ev = 0;
  let bytes = 0;
  for (let r = 0; r < ROUNDS; r++) {
    off.push(tracingRun('off', 300).wall);
    hooks.push(tracingRun('hooks', 300).wall);
    const f = tracingRun('full', 300);
    full.push(f.wall);
    ev = f.events;
    bytes = f.bytes;
  }
  const mo = median(off);
  const mh = median(hooks);
  const mf = median(full);
  lines.push('Tracing (`examples/sim/web-overcommit.yaml`, 300 ms simulated, median of interleaved rounds):');
  lines.push('');
  lines.push('| tracing | run time | vs off | trace events/s of the run | of the tracing work alone |');
  lines.push('|---|---|---|---|---|');
  lines.push(`| off (\`tracer: null\`) | ${mo.toFixed(3)} s | 1.00 | – | – |`);
  lines.push(`| hooks on, nothing written | ${mh.toFixed(3)} s | ${(mh / mo).toFixed(2)} | – | – |`);
  lines.push(
    `| Chrome JSON + ftrace | ${mf.toFixed(3)} s | ${(mf / mo).toFixed(2)} | ${mega(ev / mf)} | ${mega(ev / (mf - mo))} (${ev.toLocaleString('en-US')} events, ${(bytes / 2 ** 20).toFixed(0)} MiB) |`,
  );
  lines.push('');
  lines.push(
    'With tracing off, the simulator pays one `tracer !== null` test per call site; the row "hooks on, nothing written" ' +
      'bounds that cost from above. Target: full tracing ≥ 0.4 M events/s.',
  );
  lines.push('');

  // 3. 1 TiB host.
  const n = Number(process.env.SIM_BENCH_TIB_FAULTS ?? 10_000_000);
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'sim.bench.ts'), '--tib-child', String(n)],
    {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const t = JSON.parse(out.trim().split('\n').pop()!) as {
    pages: number;
    vcpus: number;
    faults: number;
    buildS: number;
    runS: number;
    simulatedS: number;
    maxRssMiB: number;
  };
  lines.push(
    `Scale (\`examples/sim/host-1tib.yaml\`: 64 VMs × 16 GiB, ${t.vcpus} vCPUs, ${t.pages.toLocaleString('en-US')} guest pages): ` +
      `${t.faults.toLocaleString('en-US')} faults in ${t.runS.toFixed(1)} s (${mega(t.faults / t.runS)} faults/s; ${t.simulatedS.toFixed(2)} s simulated; build ${t.buildS.toFixed(1)} s), ` +
      `peak RSS **${(t.maxRssMiB / 1024).toFixed(2)} GiB** (target ≤ 4 GiB).`,
  );
  lines.push('');
  const cpu = cpus();
  lines.push(
    `Environment: Node ${process.version}, ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}${build.ok ? `, ${build.gcc}` : ''}.`,
  );
  lines.push('');
  lines.push('Command: `npm run bench sim` (1 TiB fault count: `SIM_BENCH_TIB_FAULTS`, default 10^7)');
  return lines.join('\n');
}
