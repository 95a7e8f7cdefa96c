// Same scenario + same seed ⇒ byte-identical metrics JSON, Chrome trace and ftrace; another seed differs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { SimTrace } from '../../src/sim/sim_trace.ts';
import { ChromeTraceWriter } from '../../src/trace/chrome.ts';
import { FtraceWriter } from '../../src/trace/ftrace.ts';

const file = join(import.meta.dirname, '../../examples/sim/web-overcommit.yaml');

function runOnce(seed: number): { json: string; chrome: string; ftrace: string } {
  const sc = loadSimScenario(file);
  sc.seed = seed;
  sc.duration = 20e6;
  sc.warmup = 2e6;
  sc.autoWarmup = false;
  let chrome = '';
  let ftrace = '';
  const tracer = new SimTrace(
    {
      chrome: new ChromeTraceWriter((s) => {
        chrome += s;
      }),
      ftrace: new FtraceWriter((s) => {
        ftrace += s;
      }),
    },
    100_000,
  );
  const { metrics } = runSimulation(sc, { tracer });
  return { json: JSON.stringify(metrics), chrome, ftrace };
}

test('determinism: same seed, byte-identical JSON and traces; another seed, different ones', () => {
  const a = runOnce(7);
  const b = runOnce(7);
  assert.ok(a.chrome.length > 10_000 && a.ftrace.length > 10_000);
  assert.equal(a.json, b.json);
  assert.equal(a.chrome, b.chrome);
  assert.equal(a.ftrace, b.ftrace);
  const c = runOnce(8);
  assert.notEqual(a.json, c.json);
  assert.notEqual(a.ftrace, c.ftrace);
});

test('determinism: tracing does not change the metrics', () => {
  const sc = loadSimScenario(file);
  sc.seed = 7;
  sc.duration = 20e6;
  sc.warmup = 2e6;
  sc.autoWarmup = false;
  assert.equal(JSON.stringify(runSimulation(sc).metrics), runOnce(7).json);
});
