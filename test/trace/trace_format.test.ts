// The Trace Event Format checker (src/trace/trace_check.ts): it finds each defect kind that issue 16
// reported in the traces (negative durations, overlapping slices — the IRQ-handler pairs and the 1 ns
// rounding overlaps —, zero-length slices, events after the end, a track per token), and the traces of
// every sim example and every replayed counterexample pass it with no violation at all.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { replay } from '../../src/explore/x86/counterexample.ts';
import { writeReplayChromeTrace } from '../../src/explore/x86/replay_trace.ts';
import { runExplore } from '../../src/explore/x86/run.ts';
import { loadExplore } from '../../src/explore/x86/scenario.ts';
import { readScenarioFile, validateScenario } from '../../src/scenario/load.ts';
import { runScript } from '../../src/script/runner.ts';
import { ScriptSchema } from '../../src/script/schema.ts';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { SimTrace } from '../../src/sim/sim_trace.ts';
import { ChromeTraceWriter } from '../../src/trace/chrome.ts';
import { FtraceWriter } from '../../src/trace/ftrace.ts';
import { SCRIPT_VMM_PID, writeFtraceAsChrome } from '../../src/trace/ftrace_chrome.ts';
import {
  type CheckReport,
  checkTrace,
  checkTraceText,
  formatCheckReport,
  VIOLATION_KINDS,
  type ViolationKind,
} from '../../src/trace/trace_check.ts';
import { resolveVariants } from '../../src/variant/load.ts';

const EXAMPLES = join(import.meta.dirname, '../../examples');

const meta = [
  { ph: 'M', name: 'process_name', pid: 1, tid: 0, args: { name: 'vm' } },
  { ph: 'M', name: 'thread_name', pid: 1, tid: 2, args: { name: 'vCPU 0' } },
];
const X = (name: string, ts: number, dur: number) => ({
  ph: 'X',
  cat: 'vcpu',
  name,
  pid: 1,
  tid: 2,
  ts,
  dur,
});

/** The kinds with violations in a report. */
const kinds = (r: CheckReport): ViolationKind[] => VIOLATION_KINDS.filter((k) => r.counts[k] > 0);

test('checker: a well-formed trace passes', () => {
  const r = checkTrace(
    {
      traceEvents: [
        ...meta,
        X('task 0', 0, 10),
        { ph: 'i', cat: 'vcpu', name: 'EPT violation', pid: 1, tid: 2, ts: 10, s: 't' },
        X('#PF handler', 10, 1.7),
        X('inner', 10.5, 0.5),
        { ph: 'b', cat: 'apf', name: 'vCPU 0 token', id: 'a', pid: 1, tid: 2, ts: 10 },
        { ph: 's', cat: 'apf', name: 'page ready', id: 'a', pid: 1, tid: 2, ts: 10 },
        { ph: 'b', cat: 'apf', name: 'vCPU 0 page-in', id: 'a', pid: 1, tid: 2, ts: 10 },
        { ph: 'e', cat: 'apf', name: 'vCPU 0 page-in', id: 'a', pid: 1, tid: 2, ts: 11 },
        { ph: 'e', cat: 'apf', name: 'vCPU 0 token', id: 'a', pid: 1, tid: 2, ts: 11.7 },
        { ph: 'f', cat: 'apf', name: 'page ready', id: 'a', pid: 1, tid: 2, ts: 11.7, bp: 'e' },
        { ph: 'C', name: 'swap', pid: 1, tid: 0, ts: 12, args: { queued: 1 } },
      ],
    },
    { endNs: 12_000 },
  );
  assert.equal(r.total, 0, formatCheckReport(r));
});

// The five defect kinds of issue 16, each as the simulator used to write it.
const DEFECTS: [string, unknown[], ViolationKind][] = [
  ['a slice with a negative duration', [X('task 5', 36001.6, -1.57)], 'negative-dur'],
  [
    'two IRQ handler slices overlapping on one vCPU (a tick cut into a handler)',
    [X('IRQ handler', 92000, 1.6), X('IRQ handler', 92000.943, 4.6)],
    'overlap',
  ],
  [
    'adjacent slices overlapping by 1 ns (ts and dur rounded separately)',
    [X('task 0', 1715.471, 247.759), X('schedule', 1963.229, 2)],
    'overlap',
  ],
  [
    'a zero-length EPT violation slice at the start of the #PF handler',
    [X('#PF handler', 1082.377, 1.7), X('EPT violation', 1082.377, 0)],
    'zero-dur',
  ],
  ['a slice that runs past the end', [X('IRQ handler', 999_999, 1.6)], 'after-end'],
  [
    'an event after the end',
    [{ ph: 'i', cat: 'vcpu', name: 'HLT', pid: 1, tid: 2, ts: 1_000_000.001, s: 't' }],
    'after-end',
  ],
];

for (const [what, evs, kind] of DEFECTS)
  test(`checker: fails on ${what} (${kind})`, () => {
    const r = checkTrace({ traceEvents: [...meta, ...evs] }, { endNs: 1e9 });
    assert.deepEqual(kinds(r), [kind], formatCheckReport(r));
  });

test('checker: fails on a track per token (an async name per token)', () => {
  const evs: unknown[] = [...meta];
  for (let t = 0; t < 100; t++)
    evs.push(
      { ph: 'b', cat: 'apf', name: `token 0x${t.toString(16)}`, id: `v.${t}`, pid: 1, tid: 2, ts: t },
      { ph: 'e', cat: 'apf', name: `token 0x${t.toString(16)}`, id: `v.${t}`, pid: 1, tid: 2, ts: t + 1 },
    );
  const r = checkTrace({ traceEvents: evs });
  assert.deepEqual(kinds(r), ['async-tracks'], formatCheckReport(r));
});

test('checker: fails on the other format rules, one kind each', () => {
  const cases: [unknown[], ViolationKind][] = [
    [[{ ph: 'Q', pid: 1, tid: 2, ts: 0 }], 'phase'],
    [[{ ph: 'X', name: 'x', pid: '1', tid: 2, ts: 0, dur: 1 }], 'ids'],
    [[{ ph: 'X', name: 'x', pid: 1, tid: 2, ts: 0.0001, dur: 1 }], 'ts'],
    [[{ ph: 'X', name: 'x', pid: 1, tid: 2, ts: -1, dur: 1 }], 'ts'],
    [[{ ph: 'B', name: 'x', pid: 1, tid: 2, ts: 0 }], 'unbalanced'],
    [[{ ph: 'E', pid: 1, tid: 2, ts: 0 }], 'unbalanced'],
    [[{ ph: 'b', cat: 'c', name: 'x', id: '1', pid: 1, tid: 2, ts: 0 }], 'async'],
    [
      [
        { ph: 'b', cat: 'c', name: 'x', id: '1', pid: 1, tid: 2, ts: 0 },
        { ph: 'e', cat: 'c', name: 'y', id: '1', pid: 1, tid: 2, ts: 1 },
      ],
      'async',
    ],
    [[X('s', 0, 1), { ph: 's', cat: 'c', name: 'f', id: '1', pid: 1, tid: 2, ts: 0.5 }], 'flow'],
    [
      [
        X('s', 0, 1),
        { ph: 's', cat: 'c', name: 'f', id: '1', pid: 1, tid: 2, ts: 0.5 },
        { ph: 'f', cat: 'c', name: 'f', id: '1', pid: 1, tid: 2, ts: 5, bp: 'e' },
      ],
      'flow',
    ],
    [[{ ph: 'M', name: 'thread_name', pid: 1, tid: 2, args: { nam: 'x' } }], 'metadata'],
    [[{ ph: 'M', name: 'colour', pid: 1, tid: 2, args: { name: 'x' } }], 'metadata'],
  ];
  for (const [evs, kind] of cases) {
    const r = checkTrace({ traceEvents: [...meta, ...evs] });
    assert.deepEqual(kinds(r), [kind], `${JSON.stringify(evs)}: ${formatCheckReport(r)}`);
  }
});

test("checker: fails on an event before a window's start (before-start)", () => {
  const r = checkTrace({ traceEvents: [...meta, X('task 0', 9.999, 1)] }, { startNs: 10_000 });
  assert.deepEqual(kinds(r), ['before-start'], formatCheckReport(r));
});

/** A sim example's Chrome trace, checked; `duration` shortens it (ns, automatic warm-up off). */
function checkSim(file: string, duration?: number, window?: { start: number; end: number }): CheckReport {
  const sc = loadSimScenario(join(EXAMPLES, 'sim', file));
  if (duration !== undefined) {
    sc.duration = Math.min(sc.duration, duration);
    sc.warmup = 0;
    sc.autoWarmup = false;
  }
  const chunks: string[] = [];
  const tracer = new SimTrace(
    { chrome: new ChromeTraceWriter((s) => chunks.push(s)), ftrace: null },
    Math.max(10_000, sc.duration / 2000),
    window,
  );
  const { sim } = runSimulation(sc, { tracer });
  return checkTraceText(chunks.join(''), {
    startNs: window?.start ?? 0,
    endNs: Math.min(sim.endTime, window?.end ?? Number.POSITIVE_INFINITY),
  });
}

test('--trace-window: the trace of a window has nothing outside it and no violation', () => {
  const whole = checkSim('web-overcommit.yaml', 30e6);
  const part = checkSim('web-overcommit.yaml', 30e6, { start: 10e6, end: 20e6 });
  assert.equal(part.total, 0, formatCheckReport(part));
  assert.ok(part.events > 1000 && part.events < whole.events / 2, `${part.events} of ${whole.events} events`);
});

const simExamples = readdirSync(join(EXAMPLES, 'sim')).filter(
  (f) => f.endsWith('.yaml') && !/^arch:\s*s390/m.test(readFileSync(join(EXAMPLES, 'sim', f), 'utf8')),
);

test('every sim example: its trace has no violation (30 ms of each; 2 ms of host-1tib)', () => {
  assert.ok(simExamples.length >= 9);
  for (const f of simExamples) {
    const r = checkSim(f, f === 'host-1tib.yaml' ? 2e6 : 30e6);
    assert.ok(r.events > 1000, `${f}: ${r.events} events`);
    assert.equal(r.total, 0, `${f}: ${formatCheckReport(r)}`);
  }
});

test('web-overcommit as the issue ran it (warm-up and all, about a million events): no violation', () => {
  const r = checkSim('web-overcommit.yaml');
  assert.ok(r.events > 500_000, `${r.events} events`);
  assert.equal(r.total, 0, formatCheckReport(r));
});

test('every replayed counterexample: its trace has no violation', () => {
  const dir = join(EXAMPLES, 'explore');
  let replays = 0;
  for (const f of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    if (!/verdict:\s*counterexample/.test(readFileSync(join(dir, f), 'utf8'))) continue;
    const { config } = loadExplore(join(dir, f));
    const outcome = runExplore(config, { strategy: 'bfs', maxStates: 400_000, symmetry: true, por: true });
    const cx = outcome.counterexample;
    assert.ok(cx, `${f}: a counterexample`);
    let text = '';
    writeReplayChromeTrace(replay(config, cx), f, (c) => {
      text += c;
    });
    const r = checkTraceText(text);
    assert.equal(r.total, 0, `${f}: ${formatCheckReport(r)}`);
    replays++;
  }
  assert.ok(replays >= 20, `${replays} replays`);
});

/** Every `kind: script` example for x86, by path. */
function scriptExamples(dir = EXAMPLES): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...scriptExamples(p));
    else if (e.name.endsWith('.yaml')) {
      const text = readFileSync(p, 'utf8');
      if (/^kind:\s*script\b/m.test(text) && !/^arch:\s*s390/m.test(text)) out.push(p);
    }
  }
  return out.sort();
}

test('every script example: its --trace has no violation', async () => {
  const files = scriptExamples();
  assert.ok(files.length >= 30, `${files.length} scripts`);
  let events = 0;
  for (const f of files) {
    const script = validateScenario(f, readScenarioFile(f, { bigint: true }), ScriptSchema);
    if (script.variants !== undefined) script.variants = await resolveVariants(script.variants, f); // examples/variants
    const { ftrace } = runScript(script, { ftrace: true });
    let text = '';
    writeFtraceAsChrome(ftrace, script.name ?? f, SCRIPT_VMM_PID, (c) => {
      text += c;
    });
    const r = checkTraceText(text);
    assert.equal(r.total, 0, `${f}: ${formatCheckReport(r)}`);
    events += r.events;
  }
  assert.ok(events > 500, `${events} events`);
});

test('sim: each ftrace line is also a tracepoint instant on its vCPU thread in the JSON, same event and fields', () => {
  const sc = loadSimScenario(join(EXAMPLES, 'sim/web-overcommit.yaml'));
  sc.duration = 20e6;
  sc.warmup = 0;
  sc.autoWarmup = false;
  const chunks: string[] = [];
  const lines: string[] = [];
  const ft = new FtraceWriter((s) => lines.push(s));
  runSimulation(sc, {
    tracer: new SimTrace({ chrome: new ChromeTraceWriter((s) => chunks.push(s)), ftrace: ft }, 1e6),
  });
  const evs = (
    JSON.parse(chunks.join('')) as {
      traceEvents: {
        ph: string;
        cat?: string;
        name: string;
        tid: number;
        ts: number;
        args?: Record<string, string>;
      }[];
    }
  ).traceEvents;
  const tps = evs.filter((e) => e.ph === 'i' && e.cat === 'tracepoint');
  const text = lines
    .join('')
    .split('\n')
    .filter((l) => l !== '');
  assert.ok(text.length > 1000);
  assert.equal(tps.length, text.length);
  const hex = /0x[0-9a-f]+/g;
  tps.forEach((e, i) => {
    const m = /^ *(.+)-(\d+) +\[\d+\] \.{5} +(\d+)\.(\d{6}): ([a-z_]+): (.*)$/.exec(text[i]!)!;
    assert.equal(e.name, m[5]);
    // ftrace truncates to µs; the JSON rounds to ns.
    const us = Number(m[3]) * 1e6 + Number(m[4]);
    assert.ok(e.ts >= us && e.ts <= us + 1, `${e.ts} µs: ${text[i]}`);
    assert.deepEqual(Object.values(e.args!).sort(), (m[6]!.match(hex) ?? []).sort(), text[i]);
    if (!m[1]!.startsWith('kworker')) assert.equal(e.tid, Number(m[2]), 'the vCPU thread: its ftrace pid');
  });
});
