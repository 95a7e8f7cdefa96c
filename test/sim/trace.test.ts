// The Chrome trace of a short run parses, names every process and thread, keeps each thread's slices
// from overlapping, nests every token's async spans, and binds every flow arrow (not-present → page
// ready) to a slice at each end. The ftrace text uses the kernel's tracepoint names and formats.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatTracepoint, TRACEPOINT_NAMES } from '../../src/host/x86/trace.ts';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { HOST_PID, SimTrace, TraceIds, tracepointFormat } from '../../src/sim/sim_trace.ts';
import { ChromeTraceWriter } from '../../src/trace/chrome.ts';
import { FtraceWriter } from '../../src/trace/ftrace.ts';

interface Ev {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  id?: string;
  cat?: string;
  bp?: string;
  args?: Record<string, unknown>;
}

function traced(file: string, mode?: 'legacy' | 'off') {
  const sc = loadSimScenario(join(import.meta.dirname, '../../examples/sim', file));
  sc.duration = 15e6;
  sc.warmup = 0;
  sc.autoWarmup = false;
  if (mode)
    for (const v of sc.vms)
      Object.assign(v, {
        apf: mode,
        era: mode === 'legacy' ? '4.19' : '6.18',
        guest: mode === 'legacy' ? 'linux-4.19' : 'linux-6.x',
      });
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
    500_000,
  );
  const r = runSimulation(sc, { tracer });
  return { sim: r.sim, doc: JSON.parse(chrome) as { traceEvents: Ev[]; displayTimeUnit: string }, ftrace };
}

const EPS = 0.0011; // µs: three printed decimals

function checkChrome(doc: { traceEvents: Ev[]; displayTimeUnit: string }, ids: TraceIds): void {
  const nvms = ids.vm.length;
  const vmPid = (i: number) => ids.vm[i]!;
  assert.equal(doc.displayTimeUnit, 'ns');
  const evs = doc.traceEvents;
  const procs = new Set(evs.filter((e) => e.ph === 'M' && e.name === 'process_name').map((e) => e.pid));
  const sorted = new Set(
    evs.filter((e) => e.ph === 'M' && e.name === 'process_sort_index').map((e) => e.pid),
  );
  const threads = new Set(
    evs.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => `${e.pid}/${e.tid}`),
  );
  assert.ok(procs.has(HOST_PID));
  for (let i = 0; i < nvms; i++) assert.ok(procs.has(vmPid(i)) && sorted.has(vmPid(i)), `vm ${i} process`);
  // Every event lives on a named process, and slices, spans and flows on a named thread of it.
  for (const e of evs) {
    if (e.ph === 'M') continue;
    assert.ok(procs.has(e.pid), `unnamed pid ${e.pid}`);
    if (e.ph !== 'C')
      assert.ok(threads.has(`${e.pid}/${e.tid}`), `unnamed thread ${e.pid}/${e.tid} (${e.ph} ${e.name})`);
  }
  // Slices on one thread never overlap.
  const byThread = new Map<string, Ev[]>();
  for (const e of evs.filter((x) => x.ph === 'X')) {
    assert.ok(e.dur! >= 0, `negative slice ${JSON.stringify(e)}`);
    const k = `${e.pid}/${e.tid}`;
    byThread.set(k, [...(byThread.get(k) ?? []), e]);
  }
  for (const [k, xs] of byThread) {
    xs.sort((a, b) => a.ts - b.ts);
    for (let i = 1; i < xs.length; i++)
      assert.ok(xs[i]!.ts >= xs[i - 1]!.ts + xs[i - 1]!.dur! - EPS, `overlap on ${k} at ${xs[i]!.ts}`);
  }
  // Each token's async spans nest: a stack per id, in file order, with non-decreasing times.
  const stacks = new Map<string, Ev[]>();
  let spans = 0;
  for (const e of evs) {
    if (e.ph !== 'b' && e.ph !== 'e') continue;
    const st = stacks.get(e.id!) ?? [];
    stacks.set(e.id!, st);
    if (e.ph === 'b') {
      if (st.length > 0) assert.ok(e.ts >= st[st.length - 1]!.ts - EPS, `child before parent in ${e.id}`);
      st.push(e);
      spans++;
    } else {
      const top = st.pop();
      assert.ok(top !== undefined, `end without begin in ${e.id}`);
      assert.equal(top.name, e.name, `improper nesting in ${e.id}`);
      assert.ok(e.ts >= top.ts - EPS, `span ends before it begins in ${e.id}`);
      if (st.length > 0) assert.ok(st[0]!.name.endsWith(' token'), 'children nest in the token span');
    }
  }
  for (const [id, st] of stacks) assert.equal(st.length, 0, `unclosed span in ${id}`);
  assert.ok(spans > 100, `only ${spans} async spans`);
  // Flows: one start and one end per id, forward in time, each inside a slice of its thread.
  const flows = new Map<string, Ev[]>();
  for (const e of evs.filter((x) => x.ph === 's' || x.ph === 'f'))
    flows.set(e.id!, [...(flows.get(e.id!) ?? []), e]);
  assert.ok(flows.size > 50);
  const inSlice = (e: Ev) =>
    (byThread.get(`${e.pid}/${e.tid}`) ?? []).some((x) => x.ts - EPS <= e.ts && e.ts <= x.ts + x.dur! + EPS);
  for (const [id, fl] of flows) {
    const s = fl.filter((e) => e.ph === 's');
    const f = fl.filter((e) => e.ph === 'f');
    assert.ok(s.length >= 1 && s.length === f.length, `flow ${id}: ${s.length} starts, ${f.length} ends`);
    for (let i = 0; i < s.length; i++) {
      assert.ok(f[i]!.ts >= s[i]!.ts - EPS, `flow ${id} goes back in time`);
      assert.equal(f[i]!.bp, 'e');
      assert.ok(inSlice(s[i]!), `flow start ${id} at ${s[i]!.ts} is in no slice`);
      assert.ok(inSlice(f[i]!), `flow end ${id} at ${f[i]!.ts} is in no slice`);
    }
  }
  // Counters: swap depth on the host, resident memory per VM.
  assert.ok(evs.some((e) => e.ph === 'C' && e.pid === HOST_PID && e.name === 'swap'));
  assert.ok(evs.some((e) => e.ph === 'C' && e.pid === vmPid(0) && e.name === 'resident MiB'));
}

test('chrome trace: names, non-overlapping slices, nested token spans, bound flows (interrupt)', () => {
  const { doc, sim } = traced('web-overcommit.yaml');
  checkChrome(doc, TraceIds.of(sim));
});

test('chrome trace: the same holds for the legacy protocol and for host-only halts', () => {
  const legacy = traced('web-overcommit.yaml', 'legacy');
  checkChrome(legacy.doc, TraceIds.of(legacy.sim));
  const off = traced('web-overcommit.yaml', 'off');
  checkChrome(off.doc, TraceIds.of(off.sim));
  assert.ok(off.doc.traceEvents.some((e) => e.ph === 'X' && e.name === 'artificial halt'));
});

test('ftrace: kernel line format, tracepoint names and printk formats', () => {
  const { ftrace } = traced('web-overcommit.yaml');
  const lines = ftrace.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  assert.ok(lines.length > 100);
  const re =
    /^ *.+-\d+ +\[\d{3}\] \.{5} +\d+\.\d{6}: (kvm_try_async_get_page: gva = 0x[0-9a-f]+, gfn = 0x[0-9a-f]+|kvm_async_pf_repeated_fault: gva = 0x[0-9a-f]+, gfn = 0x[0-9a-f]+|kvm_async_pf_not_present: token 0x[0-9a-f]+ gva 0x[0-9a-f]+|kvm_async_pf_ready: token 0x[0-9a-f]+ gva 0x[0-9a-f]+|kvm_async_pf_completed: gva 0x[0-9a-f]+ address 0x[0-9a-f]+)$/;
  for (const l of lines) assert.match(l, re);
  for (const tp of [
    'kvm_try_async_get_page',
    'kvm_async_pf_not_present',
    'kvm_async_pf_completed',
    'kvm_async_pf_ready',
  ])
    assert.ok(
      lines.some((l) => l.includes(` ${tp}: `)),
      tp,
    );
  // Worker completions come from a kworker, the rest from the vCPU thread.
  assert.ok(
    lines.filter((l) => l.includes('kvm_async_pf_completed')).every((l) => /kworker\/\d+:1-/.test(l)),
  );
  assert.ok(
    lines.filter((l) => l.includes('kvm_async_pf_not_present')).every((l) => /CPU \d+\/KVM-/.test(l)),
  );
  // Timestamps never go back.
  const ts = lines.map((l) => Number(/ (\d+\.\d{6}): /.exec(l)![1]));
  for (let i = 1; i < ts.length; i++) assert.ok(ts[i]! >= ts[i - 1]!);
});

test("ftrace: every tracepoint has a prepared format, and it prints formatTracepoint's text", () => {
  const values = [0, 1, 0xabc, 0xffffffff, 0x100000000, 0x7f12_3456_7000, 2 ** 52 + 1];
  TRACEPOINT_NAMES.forEach((name, tp) => {
    const fmt = tracepointFormat(tp);
    assert.ok(fmt !== null, name);
    for (const a of values) for (const b of values) assert.equal(fmt.text(a, b), formatTracepoint(tp, a, b));
  });
});
