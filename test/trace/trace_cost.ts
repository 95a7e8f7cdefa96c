// The cost of tracing (BENCHMARKS.md, "Traces, issue 16"): web-overcommit for 300 ms of virtual time,
// with tracing off, with the hooks on and nothing written, and with Chrome JSON + ftrace written to a
// sink that only counts bytes; interleaved rounds, medians of CPU time, ratios within the same run.
// Not a test:
//   node --import tsx test/trace/trace_cost.ts [rounds]
import { join } from 'node:path';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { SimTrace } from '../../src/sim/sim_trace.ts';
import { ChromeTraceWriter } from '../../src/trace/chrome.ts';
import { parseEvents } from '../../src/trace/events_filter.ts';
import { FtraceWriter } from '../../src/trace/ftrace.ts';

const file = join(import.meta.dirname, '../../examples/sim/web-overcommit.yaml');

function run(
  mode: 'off' | 'hooks' | 'full' | 'kvm',
  ms: number,
): { wall: number; events: number; bytes: number } {
  const sc = loadSimScenario(file);
  sc.duration = ms * 1e6;
  sc.warmup = 0;
  sc.autoWarmup = false;
  let bytes = 0;
  const sink = (s: string) => {
    bytes += s.length;
  };
  const writing = mode === 'full' || mode === 'kvm';
  const chrome = writing ? new ChromeTraceWriter(sink) : null;
  const ftrace = writing ? new FtraceWriter(sink) : null;
  const events = parseEvents('--events', mode === 'kvm' ? 'kvm:*' : undefined);
  const tracer = mode === 'off' ? null : new SimTrace({ chrome, ftrace }, 100_000, undefined, events);
  const t0 = performance.now();
  runSimulation(sc, { tracer });
  return {
    wall: (performance.now() - t0) / 1000,
    events: (chrome?.events ?? 0) + (ftrace?.lines ?? 0),
    bytes,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const rounds = Number(process.argv[2] ?? 7);
run('full', 50);
run('off', 50);
const off: number[] = [];
const hooks: number[] = [];
const full: number[] = [];
const kvm: number[] = [];
let ev = 0;
let bytes = 0;
let kev = 0;
let kbytes = 0;
for (let r = 0; r < rounds; r++) {
  off.push(run('off', 300).wall);
  hooks.push(run('hooks', 300).wall);
  const f = run('full', 300);
  full.push(f.wall);
  ev = f.events;
  bytes = f.bytes;
  // With --events 'kvm:*': the exit, injection and MSR events too.
  const k = run('kvm', 300);
  kvm.push(k.wall);
  kev = k.events;
  kbytes = k.bytes;
}
const [mo, mh, mf, mk] = [median(off), median(hooks), median(full), median(kvm)];
const M = (x: number) => `${(x / 1e6).toFixed(3)} M`;
console.log(`| off (\`tracer: null\`) | ${mo.toFixed(3)} s | 1.00 | – | – |`);
console.log(`| hooks on, nothing written | ${mh.toFixed(3)} s | ${(mh / mo).toFixed(3)} | – | – |`);
console.log(
  `| Chrome JSON + ftrace | ${mf.toFixed(3)} s | ${(mf / mo).toFixed(2)} | ${M(ev / mf)} | ${M(ev / (mf - mo))} (${ev.toLocaleString('en-US')} events, ${(bytes / 2 ** 20).toFixed(0)} MiB) |`,
);
console.log(
  `| the same, \`--events 'kvm:*'\` | ${mk.toFixed(3)} s | ${(mk / mo).toFixed(2)} | ${M(kev / mk)} | ${M(kev / (mk - mo))} (${kev.toLocaleString('en-US')} events, ${(kbytes / 2 ** 20).toFixed(0)} MiB) |`,
);
console.log(
  `rounds: off ${off.map((x) => x.toFixed(3)).join(' ')}; hooks ${hooks.map((x) => x.toFixed(3)).join(' ')}; full ${full.map((x) => x.toFixed(3)).join(' ')}; kvm ${kvm.map((x) => x.toFixed(3)).join(' ')}`,
);
