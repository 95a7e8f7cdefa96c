// A counterexample exports as Perfetto JSON and ftrace text through the simulator's trace writers.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { replay } from '../../src/explore/x86/counterexample.ts';
import { writeReplayChromeTrace, writeReplayFtrace } from '../../src/explore/x86/replay_trace.ts';
import { runExplore } from '../../src/explore/x86/run.ts';
import { loadExplore } from '../../src/explore/x86/scenario.ts';

test('token-zero counterexample → Perfetto slices per actor and ftrace lines with token 0x0', () => {
  const { config } = loadExplore(join(import.meta.dirname, '../../examples/explore/token-zero.yaml'));
  const outcome = runExplore(config, { strategy: 'bfs', maxStates: 100_000, symmetry: true, por: true });
  const cx = outcome.counterexample;
  assert.ok(cx, 'the bug is found');
  const r = replay(config, cx);
  let json = '';
  writeReplayChromeTrace(r, 'token-zero', (c) => {
    json += c;
  });
  const events = (JSON.parse(json) as { traceEvents: Array<Record<string, unknown>> }).traceEvents;
  const slices = events.filter((e) => e.ph === 'X');
  assert.equal(slices.length, r.steps.length);
  const ts = slices.map((e) => Number(e.ts));
  assert.deepEqual(
    ts,
    [...ts].sort((a, b) => a - b),
    'steps in order',
  );
  const threads = new Set(events.filter((e) => e.name === 'thread_name').map((e) => e.tid));
  assert.ok(
    slices.every((e) => threads.has(e.tid) && e.pid === 1),
    'every slice is on a named thread',
  );
  let text = '';
  writeReplayFtrace(r, (c) => {
    text += c;
  });
  assert.match(text, /^# tracer: nop/);
  assert.match(text, /CPU 0\/KVM-1000 +\[000\] \.{5} +0\.\d{6}: kvm_async_pf_not_present: token 0x0 gva 0x/);
});
