// Measures a sim example's traces with the Trace Event Format checker (not a test: a tool for
// BENCHMARKS.md / the defect counts). Usage:
//   node --import tsx test/trace/measure_trace.ts examples/sim/web-overcommit.yaml [out-prefix]
import { writeFileSync } from 'node:fs';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { SimTrace } from '../../src/sim/sim_trace.ts';
import { ChromeTraceWriter } from '../../src/trace/chrome.ts';
import { FtraceWriter } from '../../src/trace/ftrace.ts';
import { checkTraceText, formatCheckReport } from '../../src/trace/trace_check.ts';

const file = process.argv[2]!;
const sc = loadSimScenario(file);
const chrome: string[] = [];
const ftrace: string[] = [];
const tracer = new SimTrace(
  { chrome: new ChromeTraceWriter((s) => chrome.push(s)), ftrace: new FtraceWriter((s) => ftrace.push(s)) },
  Math.max(10_000, sc.duration / 2000),
);
const { sim } = runSimulation(sc, { tracer });
const text = chrome.join('');
if (process.argv[3]) {
  writeFileSync(`${process.argv[3]}.json`, text);
  writeFileSync(`${process.argv[3]}.txt`, ftrace.join(''));
}
console.log(`end ${sim.endTime} ns`);
console.log(formatCheckReport(checkTraceText(text, { endNs: sim.endTime })));
