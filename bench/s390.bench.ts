// `npm run bench s390`: the s390 explorer adapter and simulator, each against a baseline run side by side in
// the same process (interleaved rounds, medians).
//
// - Explorer: `gisaModel` (bit-packed closure-free codec, integer step enumeration, tracing off) against the
//   adapter as it was before this work (commit 9235335): a codec walk built from per-call closures over one
//   word per field (classic lists of capacity 2 included), enabled steps as objects looked up by a string key,
//   and every step recording its events. Both check the same properties with the same checker, so the ratio
//   is the adapter's alone; both must store exactly the same number of states.
// - Simulator: events/s of a claim scenario with the model's event recording off (what the simulator does)
//   against on (what every step did before the tracing switch).
import { join } from 'node:path';
import { bfs } from '../src/explore/bfs.ts';
import type { Model } from '../src/explore/model.ts';
import { gisaModel } from '../src/explore/s390/model.ts';
import { exploreWorld, parseS390Explore } from '../src/explore/s390/scenario.ts';
import { cloneWorld } from '../src/s390/codec.ts';
import { PROPERTIES, type PropertyName, S390Checker } from '../src/s390/invariants.ts';
import { applyStep, enabledSteps, type S390Step, stepLayout } from '../src/s390/steps.ts';
import { type ClassicIo, GIB_ADDR, type S390World, type VcpuRunState } from '../src/s390/world.ts';
import { readScenarioFile } from '../src/scenario/load.ts';
import { parseS390Sim } from '../src/sim/s390/scenario.ts';
import { S390Sim } from '../src/sim/s390/scheduler.ts';
import { buildSetup } from '../src/sim/s390/workload.ts';

const ROUNDS = Number(process.env.S390_BENCH_ROUNDS ?? 3);
const root = join(import.meta.dirname, '..');

// ---- the baseline explorer adapter (src/s390/codec.ts and explore_model.ts at 9235335) ----------------------

interface FieldIo {
  readonly decoding: boolean;
  int(v: number): number;
}

const EMPTY_IO: ClassicIo = { ai: false, subchannel_id: 0, subchannel_nr: 0, io_int_parm: 0, io_int_word: 0 };

function baselineWalk(w: S390World, io: FieldIo, opts: { classicCap: number; time: string }): void {
  const bool = (b: boolean): boolean => io.int(b ? 1 : 0) !== 0;
  const timer = (at: number): number => {
    if (opts.time === 'armed') return io.int(at >= 0 ? 1 : 0) ? (io.decoding ? w.now : at) : -1;
    const rel = io.int(at >= 0 ? at - w.now : -1);
    return rel >= 0 ? w.now + rel : -1;
  };
  const reseq = (seq: number): number => (io.decoding ? ++w.seq : seq);

  w.kvm_loaded = bool(w.kvm_loaded);
  w.adapter_registered = bool(w.adapter_registered);
  w.chsc_gib_origin = io.int(w.chsc_gib_origin);
  w.gal_pending = bool(w.gal_pending);
  // Always the same words, so every encoding of a world shape has the same length (0s when there is no GIB).
  const gibPresent = bool(w.gib !== null);
  const origin = io.int(w.gib?.alert_list_origin ?? 0);
  const nisc = io.int(w.gib?.nisc ?? 0);
  if (io.decoding) w.gib = gibPresent ? { addr: GIB_ADDR, alert_list_origin: origin, nisc } : null;
  w.walk.phase = io.int(w.walk.phase);
  w.walk.origin = io.int(w.walk.origin);
  w.walk.final = bool(w.walk.final);
  w.walk.cur = io.int(w.walk.cur);

  if (io.int(w.vms.length) !== w.vms.length)
    throw new RangeError('encoded VM count differs from the template');
  for (const vm of w.vms) {
    if (io.int(vm.vcpus.length) !== vm.vcpus.length) throw new RangeError(`vCPU count of ${vm.name} differs`);
    vm.gi.origin = io.int(vm.gi.origin);
    vm.gisa.next_alert = io.int(vm.gisa.next_alert);
    vm.gisa.ipm = io.int(vm.gisa.ipm);
    vm.gisa.iam = io.int(vm.gisa.iam);
    vm.gi.mask = io.int(vm.gi.mask);
    for (let i = 0; i < vm.gi.ref_count.length; i++) vm.gi.ref_count[i] = io.int(vm.gi.ref_count[i]!);
    vm.gi.timer_at = timer(vm.gi.timer_at);
    vm.gi.timer_seq = reseq(vm.gi.timer_seq);
    vm.gi.expires = io.int(vm.gi.expires);
    vm.gi.kicked_mask = io.int(vm.gi.kicked_mask);
    vm.idle_mask = io.int(vm.idle_mask);
    vm.fi.pending = io.int(vm.fi.pending);
    vm.fi.io_counter = io.int(vm.fi.io_counter);
    vm.fi.next_rr_cpu = io.int(vm.fi.next_rr_cpu);
    vm.fi.last_sleep_cpu = io.int(vm.fi.last_sleep_cpu);
    vm.online_vcpus = io.int(vm.online_vcpus);
    vm.vcpus_in_sie = io.int(vm.vcpus_in_sie);
    vm.destroy = io.int(vm.destroy);
    vm.arch_destroyed = bool(vm.arch_destroyed);
    vm.walk_uaf = io.int(vm.walk_uaf);
    vm.ai_budget = io.int(vm.ai_budget);
    for (let isc = 0; isc < vm.fi.lists.length; isc++) {
      const list = vm.fi.lists[isc]!;
      const len = io.int(list.length);
      if (len > opts.classicCap)
        throw new RangeError(`classic ISC ${isc} list of ${vm.name} exceeds classicCap`);
      const decoded: ClassicIo[] = [];
      for (let j = 0; j < opts.classicCap; j++) {
        const e = list[j] ?? EMPTY_IO;
        const entry: ClassicIo = {
          ai: bool(e.ai),
          subchannel_id: io.int(e.subchannel_id),
          subchannel_nr: io.int(e.subchannel_nr),
          io_int_parm: io.int(e.io_int_parm | 0) >>> 0,
          io_int_word: io.int(e.io_int_word | 0) >>> 0,
        };
        if (j < len) decoded.push(entry);
      }
      if (io.decoding) vm.fi.lists[isc] = decoded;
    }
    for (const v of vm.vcpus) {
      v.state = io.int(v.state) as VcpuRunState;
      v.psw_io = bool(v.psw_io);
      v.psw_ext = bool(v.psw_ext);
      v.psw_mchk = bool(v.psw_mchk);
      v.cr6 = io.int(v.cr6);
      v.cpuflags = io.int(v.cpuflags | 0) >>> 0;
      v.valid_wakeup = bool(v.valid_wakeup);
      v.wakeup_pending = bool(v.wakeup_pending);
      v.ckc_ns = io.int(v.ckc_ns);
      v.ckc_timer_at = timer(v.ckc_timer_at);
      v.ckc_timer_seq = reseq(v.ckc_timer_seq);
      v.ckc_pending = bool(v.ckc_pending);
      v.gd = io.int(v.gd);
      v.eca_aiv = bool(v.eca_aiv);
    }
  }
}

function baselineStateWords(w: S390World): number {
  let n = 0;
  const int = (v: number): number => {
    n++;
    return v;
  };
  baselineWalk(w, { decoding: false, int }, { classicCap: 2, time: 'armed' });
  return n;
}

function baselineEncode(w: S390World, out: Int32Array): void {
  let at = 0;
  const int = (v: number): number => {
    out[at++] = v | 0;
    return v;
  };
  baselineWalk(w, { decoding: false, int }, { classicCap: 2, time: 'armed' });
}

function baselineDecode(words: Int32Array, offset: number, into: S390World): void {
  let at = offset;
  const int = (): number => words[at++]!;
  baselineWalk(into, { decoding: true, int }, { classicCap: 2, time: 'armed' });
}

const stepKey = (s: S390Step): string =>
  [s.kind, 'vm' in s ? s.vm : '', 'vcpu' in s ? s.vcpu : '', 'isc' in s ? s.isc : ''].join(':');

function baselineModel(
  template: S390World,
  fast: Model<S390World>,
  explore: { destroys?: boolean },
  check: readonly PropertyName[],
) {
  const table = stepLayout(template).table;
  const ids = new Map(table.map((s, i) => [stepKey(s), i]));
  const words = baselineStateWords(template);
  const scratch = new Int32Array(words);
  const checker = new S390Checker(template, check, { classicCap: 2 });
  const model: Model<S390World> = {
    ...fast,
    name: `${fast.name} (baseline)`,
    stateWords: words,
    initial: () => cloneWorld(template),
    copy(from, to) {
      baselineEncode(from, scratch);
      baselineDecode(scratch, 0, to);
      to.now = from.now;
    },
    encode: baselineEncode,
    decode: baselineDecode,
    enabled(s, out) {
      let n = 0;
      for (const step of enabledSteps(s, explore)) out[n++] = ids.get(stepKey(step))!;
      return n;
    },
    apply(s, step) {
      s.events.length = 0;
      const r = applyStep(s, table[step]!);
      return r.result === 'invalid' ? `step not applicable: ${String(r.why)}` : null;
    },
    invariant: (s) => checker.check(s),
  };
  return model;
}

// ---- measurement -------------------------------------------------------------------------------------------

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => Math.round(x).toLocaleString('en-US');

interface ExploreCase {
  readonly label: string;
  readonly file: string;
  /** ai_budget per VM for the side-by-side run (the baseline is too slow for the full scenario). */
  readonly budget: number;
}

const EXPLORE: readonly ExploreCase[] = [
  { label: 'no lost AI (current, 2 VMs × 2 vCPUs, 2 ISCs, 1 AI per VM)', file: 'no-lost-ai.yaml', budget: 1 },
  {
    label: 'destroy terminates (current, destroys on, 1 AI per VM)',
    file: 'destroy-terminates.yaml',
    budget: 1,
  },
];

function exploreRow(c: ExploreCase): string {
  const file = join(root, 'examples/s390/explore', c.file);
  const s = parseS390Explore(readScenarioFile(file), file);
  for (const vm of s.vms) vm.ai_budget = c.budget;
  const explore = { destroys: s.env?.destroys };
  const fastRates: number[] = [];
  const baseRates: number[] = [];
  let states = 0;
  let bytes = 0;
  let baseBytes = 0;
  // Warm-up (JIT), not timed: a bounded run of each adapter.
  {
    const template = exploreWorld(s);
    const fast = gisaModel(template, { explore, check: s.check });
    bfs(fast, { maxStates: 20_000 });
    bfs(baselineModel(template, fast, explore, s.check ?? PROPERTIES), { maxStates: 2_000 });
  }
  for (let r = 0; r < ROUNDS; r++) {
    const template = exploreWorld(s);
    const fast = gisaModel(template, { explore, check: s.check });
    const base = baselineModel(template, fast, explore, s.check ?? PROPERTIES);
    for (const [model, rates] of [
      [fast, fastRates],
      [base, baseRates],
    ] as const) {
      const t0 = performance.now();
      const res = bfs(model, { maxStates: 10_000_000 });
      const seconds = (performance.now() - t0) / 1000;
      if (res.kind !== 'ok') throw new Error(`${c.file}: ${res.kind}`);
      if (model === fast) {
        states = res.stats.states;
        bytes = res.stats.bytesPerState;
      } else {
        if (res.stats.states !== states)
          throw new Error(`${c.file}: baseline stored ${res.stats.states} states, ${states} expected`);
        baseBytes = res.stats.bytesPerState;
      }
      rates.push(res.stats.states / seconds);
    }
  }
  const f = median(fastRates);
  const b = median(baseRates);
  return `| ${c.label} | ${fmt(states)} | ${fmt(b)} | ${fmt(f)} | ${(f / b).toFixed(1)}× | ${Math.round(baseBytes)} → ${Math.round(bytes)} |`;
}

function simRow(): string {
  const file = join(root, 'examples/s390/sim/claim-single-restart.yaml');
  const s = parseS390Sim(readScenarioFile(file), file);
  const off: number[] = [];
  const on: number[] = [];
  let events = 0;
  // Warm-up (JIT), not timed.
  for (const v of s.variants ?? []) new S390Sim(buildSetup(s, v, 2)).run();
  for (let r = 0; r < ROUNDS; r++)
    for (const tracing of [false, true]) {
      let n = 0;
      const t0 = performance.now();
      for (const v of s.variants ?? []) {
        const sim = new S390Sim(buildSetup(s, v, 1));
        sim.w.tracing = tracing;
        n += sim.run().metrics.events;
      }
      (tracing ? on : off).push(n / ((performance.now() - t0) / 1000));
      events = n;
    }
  const f = median(off);
  const b = median(on);
  return `| claim-single-restart.yaml, 4 variants, seed 1 (${fmt(events)} events) | ${fmt(b)} | ${fmt(f)} | ${(f / b).toFixed(1)}× |`;
}

export default async function bench(): Promise<string> {
  const rows = EXPLORE.map(exploreRow);
  const sim = simRow();
  return [
    '## s390: explorer adapter and simulator',
    '',
    `\`npm run bench s390\` (${ROUNDS} interleaved rounds, medians; \`S390_BENCH_ROUNDS\` to change). Explorer: the`,
    'adapter before this work (closure-based one-word-per-field codec, step objects looked up by string key,',
    'events recorded) against `gisaModel` (bit-packed straight-line codec, integer step ids, tracing off), same',
    'checker, same BFS, identical state counts.',
    '',
    '| explorer run | states | baseline states/s | states/s | ratio | B/state |',
    '|---|---|---|---|---|---|',
    ...rows,
    '',
    'Simulator: events/s with the model recording its events (every step before the tracing switch) against',
    'without (what the simulator does).',
    '',
    '| simulator run | recording events/s | events/s | ratio |',
    '|---|---|---|---|',
    sim,
  ].join('\n');
}
