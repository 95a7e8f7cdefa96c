// A checker of the Trace Event Format (the JSON Perfetto and chrome://tracing load), strict where the
// viewers are lenient: what it reports is what makes a viewer draw a trace wrongly or differently from
// what was meant. Times are compared in whole nanoseconds (µs with three decimals, parsed exactly).
//
// Rules, one violation kind each:
//   phase        ph is one of X B E i I n b e s t f C M
//   ids          pid and tid are integers
//   ts           every event but M has a finite ts ≥ 0, a whole number of ns
//   negative-dur an X slice has dur < 0
//   zero-dur     an X slice has dur 0: an instant, to be written as one (ph i); a zero-length slice
//                sorts as the child of any slice starting at the same time, reversing cause and effect
//   overlap      slices (X, and B/E pairs) on one thread are not well nested: one starts inside another
//                and ends after it
//   unbalanced   an E without its B, or a B never ended
//   async        a nestable async end (e) without a begin (b) of the same cat, id and name, an end before
//                its begin, or a begin never ended
//   async-tracks more distinct async span names in one process than `maxAsyncNames` (Perfetto groups
//                async events by name and category within a process: one track per name)
//   flow         a flow step/end (t/f) with no start (s) of the same cat and id before it, a start never
//                ended, or a flow point not inside any slice of its thread (s and t bind to the enclosing
//                slice; f to the enclosing one when bp is "e", to the next one otherwise)
//   metadata     an M event that is not process_name / process_sort_index / thread_name /
//                thread_sort_index / process_labels with the right args
//   after-end    an event (or the end of a slice) after `endNs`
//   before-start an event before `startNs` (a traced window's start)

export type ViolationKind =
  | 'phase'
  | 'ids'
  | 'ts'
  | 'negative-dur'
  | 'zero-dur'
  | 'overlap'
  | 'unbalanced'
  | 'async'
  | 'async-tracks'
  | 'flow'
  | 'metadata'
  | 'after-end'
  | 'before-start';

export const VIOLATION_KINDS: readonly ViolationKind[] = [
  'phase',
  'ids',
  'ts',
  'negative-dur',
  'zero-dur',
  'overlap',
  'unbalanced',
  'async',
  'async-tracks',
  'flow',
  'metadata',
  'after-end',
  'before-start',
];

export interface TraceEvent {
  ph?: unknown;
  name?: unknown;
  cat?: unknown;
  pid?: unknown;
  tid?: unknown;
  ts?: unknown;
  dur?: unknown;
  id?: unknown;
  bp?: unknown;
  s?: unknown;
  args?: unknown;
}

export interface CheckOptions {
  /** The end of the traced period, ns: nothing may happen after it. */
  endNs?: number;
  /** The start of the traced period, ns: nothing may happen before it. */
  startNs?: number;
  /** Most distinct async span names per process (default 64). */
  maxAsyncNames?: number;
  /** Examples kept per kind (default 5). */
  examples?: number;
}

export interface CheckReport {
  events: number;
  /** Violations per kind (every kind present, 0 when none). */
  counts: Record<ViolationKind, number>;
  /** The first few violations per kind, as text. */
  examples: Record<ViolationKind, string[]>;
  /** Overlapping slice pairs by "outer name / inner name" (marked when by 1 ns), the most frequent first. */
  overlapPairs: [string, number][];
  total: number;
}

const PHASES = new Set(['X', 'B', 'E', 'i', 'I', 'n', 'b', 'e', 's', 't', 'f', 'C', 'M']);
const META_NAMES = new Set([
  'process_name',
  'process_sort_index',
  'thread_name',
  'thread_sort_index',
  'process_labels',
]);

/** A slice of a thread, in ns. */
interface Slice {
  start: number;
  end: number;
  name: string;
}

/** µs → ns, exact for µs printed with up to three decimals; NaN if not a whole number of ns. */
function toNs(us: unknown): number {
  if (typeof us !== 'number' || !Number.isFinite(us)) return Number.NaN;
  const ns = Math.round(us * 1000);
  return Math.abs(ns - us * 1000) < 1e-3 * Math.max(1, Math.abs(us)) ? ns : Number.NaN;
}

export class TraceChecker {
  private readonly opts: Required<CheckOptions>;
  private n = 0;
  private readonly counts = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, 0])) as Record<
    ViolationKind,
    number
  >;
  private readonly ex = Object.fromEntries(VIOLATION_KINDS.map((k) => [k, [] as string[]])) as Record<
    ViolationKind,
    string[]
  >;
  /** Per thread "pid/tid": its slices (X, and B/E pairs). */
  private readonly slices = new Map<string, Slice[]>();
  /** Per thread: open B events. */
  private readonly openB = new Map<string, Slice[]>();
  /** Async events per "pid/cat/id": [ph, name, ts, order]. */
  private readonly asyncs = new Map<string, [string, string, number, number][]>();
  private readonly asyncNames = new Map<number, Set<string>>();
  /** Flow events per "cat/id": [ph, ts, thread, bp-enclosing]. */
  private readonly flows = new Map<string, [string, number, string, boolean][]>();

  constructor(opts: CheckOptions = {}) {
    this.opts = {
      endNs: opts.endNs ?? Number.POSITIVE_INFINITY,
      startNs: opts.startNs ?? 0,
      maxAsyncNames: opts.maxAsyncNames ?? 64,
      examples: opts.examples ?? 5,
    };
  }

  private bad(kind: ViolationKind, what: string): void {
    this.counts[kind]++;
    if (this.ex[kind].length < this.opts.examples) this.ex[kind].push(what);
  }

  add(e: TraceEvent): void {
    this.n++;
    const ph = e.ph;
    const show = (): string => JSON.stringify(e).slice(0, 200);
    if (typeof ph !== 'string' || !PHASES.has(ph)) {
      this.bad('phase', show());
      return;
    }
    if (!Number.isInteger(e.pid) || (!Number.isInteger(e.tid) && ph !== 'C')) this.bad('ids', show());
    const thread = `${e.pid}/${e.tid}`;
    if (ph === 'M') {
      const a = e.args as Record<string, unknown> | undefined;
      const ok =
        typeof e.name === 'string' &&
        META_NAMES.has(e.name) &&
        a !== undefined &&
        (e.name.endsWith('_sort_index')
          ? Number.isInteger(a.sort_index)
          : e.name === 'process_labels'
            ? typeof a.labels === 'string'
            : typeof a.name === 'string');
      if (!ok) this.bad('metadata', show());
      return;
    }
    const ts = toNs(e.ts);
    if (!(ts >= 0)) {
      this.bad('ts', show());
      return;
    }
    const name = typeof e.name === 'string' ? e.name : '';
    let end = ts;
    switch (ph) {
      case 'X': {
        const dur = toNs(e.dur);
        if (Number.isNaN(dur)) this.bad('ts', show());
        else if (dur < 0) this.bad('negative-dur', show());
        else {
          if (dur === 0) this.bad('zero-dur', show());
          end = ts + dur;
          this.sliceList(thread).push({ start: ts, end, name });
        }
        break;
      }
      case 'B': {
        let st = this.openB.get(thread);
        if (st === undefined) {
          st = [];
          this.openB.set(thread, st);
        }
        st.push({ start: ts, end: ts, name });
        break;
      }
      case 'E': {
        const b = this.openB.get(thread)?.pop();
        if (b === undefined || ts < b.start) this.bad('unbalanced', show());
        else {
          b.end = ts;
          this.sliceList(thread).push(b);
        }
        break;
      }
      case 'b':
      case 'e': {
        const k = `${e.pid}/${String(e.cat)}/${String(e.id)}`;
        let l = this.asyncs.get(k);
        if (l === undefined) {
          l = [];
          this.asyncs.set(k, l);
        }
        l.push([ph, name, ts, this.n]);
        if (ph === 'b') {
          const pid = e.pid as number;
          let names = this.asyncNames.get(pid);
          if (names === undefined) {
            names = new Set();
            this.asyncNames.set(pid, names);
          }
          if (!names.has(name)) {
            names.add(name);
            if (names.size === this.opts.maxAsyncNames + 1)
              this.bad('async-tracks', `pid ${pid}: more than ${this.opts.maxAsyncNames} async span names`);
          }
        }
        break;
      }
      case 's':
      case 't':
      case 'f': {
        const k = `${String(e.cat)}/${String(e.id)}`;
        let l = this.flows.get(k);
        if (l === undefined) {
          l = [];
          this.flows.set(k, l);
        }
        l.push([ph, ts, thread, e.bp === 'e']);
        break;
      }
      default:
        break;
    }
    if (end > this.opts.endNs) this.bad('after-end', show());
    if (ts < this.opts.startNs) this.bad('before-start', show());
  }

  private sliceList(thread: string): Slice[] {
    let l = this.slices.get(thread);
    if (l === undefined) {
      l = [];
      this.slices.set(thread, l);
    }
    return l;
  }

  finish(): CheckReport {
    const pairs = new Map<string, number>();
    for (const [thread, st] of this.openB)
      for (const b of st) this.bad('unbalanced', `${thread}: B "${b.name}" at ${b.start} ns never ends`);
    // Well nested: sorted by start, then longest first, each slice ends within every slice it starts in.
    for (const [thread, l] of this.slices) {
      l.sort((a, b) => a.start - b.start || b.end - a.end);
      const stack: Slice[] = [];
      for (const s of l) {
        while (stack.length > 0 && stack[stack.length - 1]!.end <= s.start) stack.pop();
        const top = stack[stack.length - 1];
        if (top !== undefined && s.end > top.end) {
          const p = `${top.name} / ${s.name}${s.start + 1 >= top.end ? ' (by 1 ns)' : ''}`;
          pairs.set(p, (pairs.get(p) ?? 0) + 1);
          this.bad(
            'overlap',
            `${thread}: "${s.name}" [${s.start}, ${s.end}) ns starts inside "${top.name}" [${top.start}, ${top.end}) and ends after it`,
          );
        }
        stack.push(s);
      }
    }
    // Nestable async spans: per cat and id, in time order (file order at equal times), each end closes
    // the innermost open span, of the same name.
    for (const [k, l] of this.asyncs) {
      l.sort((a, b) => a[2] - b[2] || a[3] - b[3]);
      const open: string[] = [];
      for (const [ph, name, ts] of l) {
        if (ph === 'b') open.push(name);
        else if (open.length === 0 || open[open.length - 1] !== name)
          this.bad('async', `${k}: end of "${name}" at ${ts} ns closes no open span of that name`);
        else open.pop();
      }
      for (const name of open) this.bad('async', `${k}: "${name}" never ends`);
    }
    // Flows: a start, then steps, then an end, in time order; each point inside a slice of its thread.
    const covered = (thread: string, ts: number, enclosing: boolean): boolean => {
      const l = this.slices.get(thread);
      if (l === undefined) return false;
      // l is sorted by start: the last slice starting at or before ts, and every one before it.
      let lo = 0;
      let hi = l.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (l[mid]!.start <= ts) lo = mid + 1;
        else hi = mid;
      }
      if (!enclosing) return lo < l.length || (lo > 0 && l[lo - 1]!.end >= ts);
      for (let i = lo - 1; i >= 0 && i >= lo - 64; i--) if (l[i]!.end >= ts) return true;
      return false;
    };
    for (const [k, l] of this.flows) {
      let started = false;
      for (const [ph, ts, thread, bpE] of l.sort((a, b) => a[1] - b[1])) {
        if (ph === 's') {
          if (started) this.bad('flow', `${k}: a second start at ${ts} ns before an end`);
          started = true;
        } else if (!started) this.bad('flow', `${k}: ${ph} at ${ts} ns without a start`);
        if (ph === 'f') started = false;
        if (!covered(thread, ts, ph !== 'f' || bpE))
          this.bad('flow', `${k}: ${ph} at ${ts} ns on ${thread} is in no slice of its thread`);
      }
      if (started) this.bad('flow', `${k}: never ends`);
    }
    const total = VIOLATION_KINDS.reduce((s, k) => s + this.counts[k], 0);
    return {
      events: this.n,
      counts: this.counts,
      examples: this.ex,
      overlapPairs: [...pairs].sort((a, b) => b[1] - a[1]),
      total,
    };
  }
}

/** Checks a whole trace document (`{"traceEvents":[…]}` or a bare array). */
export function checkTrace(doc: unknown, opts: CheckOptions = {}): CheckReport {
  const c = new TraceChecker(opts);
  const evs = Array.isArray(doc) ? doc : (doc as { traceEvents?: unknown }).traceEvents;
  if (!Array.isArray(evs)) {
    c.add({ ph: undefined });
    return c.finish();
  }
  for (const e of evs) c.add(e as TraceEvent);
  return c.finish();
}

/**
 * Checks trace text: kvmsim writes one event per line between `{"traceEvents":[` and `]…}`, read line
 * by line so a trace of a million events needs no single JSON.parse; any other text is parsed whole.
 */
export function checkTraceText(text: string, opts: CheckOptions = {}): CheckReport {
  if (!text.startsWith('{"traceEvents":[\n')) return checkTrace(JSON.parse(text), opts);
  const c = new TraceChecker(opts);
  let pos = text.indexOf('\n') + 1;
  for (;;) {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) break;
    let line = text.slice(pos, nl);
    pos = nl + 1;
    if (line.startsWith(']')) {
      JSON.parse(`{${line.slice(2)}`); // the document's end: `],"displayTimeUnit":"ns"}`
      break;
    }
    if (line.endsWith(',')) line = line.slice(0, -1);
    c.add(JSON.parse(line) as TraceEvent);
  }
  return c.finish();
}

/** A report as a few lines: the count per kind with violations, and an example of each. */
export function formatCheckReport(r: CheckReport): string {
  const lines = [`${r.events} events, ${r.total} violations`];
  for (const k of VIOLATION_KINDS) {
    if (r.counts[k] === 0) continue;
    lines.push(`  ${k}: ${r.counts[k]}`);
    for (const x of r.examples[k].slice(0, 2)) lines.push(`    ${x}`);
  }
  if (r.overlapPairs.length > 0)
    lines.push(
      `  overlapping pairs: ${r.overlapPairs
        .slice(0, 12)
        .map(([p, n]) => `${p} ×${n}`)
        .join('; ')}`,
    );
  return lines.join('\n');
}
