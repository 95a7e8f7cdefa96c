// Chrome Trace Event Format (the JSON that Perfetto and chrome://tracing load), written as a stream:
// `{"traceEvents":[` + one event per line + `]}`. Nothing here is specific to KVM: callers name their
// processes, threads, slices, instants, async spans, flows and counters. Times are virtual nanoseconds,
// printed as microseconds with exactly three decimals (so ns survive, and the bytes are a function of
// the values). A slice is given by its two boundaries, each rounded to a whole ns once: its printed
// duration is end − start of the rounded values, so slices that meet in the model meet in the trace
// (rounding ts and dur separately made adjacent slices overlap by 1 ns).
// Events are encoded straight into a byte buffer (ascii_out.ts) and handed to `write` in 64 KiB chunks.
//
// Two ways to write an event, with the same bytes: the plain methods (complete, asyncBegin, …) take
// names and ids as strings; the prepared ones (slice, span, flow, counterAt) take their constant parts —
// what the event is (EventKind), where (Track), its id (HexIds), its args' keys (ArgsLayout) — encoded
// once by the caller, so a hot caller pays one buffer copy per part instead of re-encoding it per event.
// Async ids (and the names of numbered kinds) end in a number printed in hex per event: a span per
// token then builds no string at all.
import { AsciiOut, Fragment } from './ascii_out.ts';

export type TraceArgs = Readonly<Record<string, string | number | boolean>>;

/** ns → "µs.nnn" (rounded to whole ns). */
export function formatTraceTime(ns: number): string {
  const n = Math.round(ns);
  const us = Math.floor(n / 1000);
  const r = n - us * 1000;
  return `${us}.${r < 10 ? '00' : r < 100 ? '0' : ''}${r}`;
}

/** The phases of the prepared events: slice, thread instant, async begin / end, flow start / end. */
export type Phase = 'X' | 'i' | 'b' | 'e' | 's' | 'f';

/** JSON.stringify(s) without its closing quote: the start of a string literal that the caller ends. */
const openJsonString = (s: string): string => JSON.stringify(s).slice(0, -1);

/** What an event is: `{"ph":…,"cat":…,"name":…`, encoded once. */
export class EventKind {
  readonly head: Fragment;

  /** Numbered kinds (EventKind.numbered) end their name with the event's number in hex. */
  constructor(
    readonly ph: Phase,
    cat: string,
    name: string,
    readonly numbered = false,
  ) {
    const named = numbered ? openJsonString(name) : JSON.stringify(name);
    this.head = new Fragment(`{"ph":"${ph}","cat":${JSON.stringify(cat)},"name":${named}`);
  }

  /** Async spans named `<prefix><n in hex>` ("token 0x1f"), n the span's number (span()). */
  static numbered(ph: Phase, cat: string, prefix: string): EventKind {
    return new EventKind(ph, cat, prefix, true);
  }
}

/** Where an event is: `,"pid":…,"tid":…` (integers), encoded once. */
export class Track {
  readonly ids: Fragment;

  constructor(pid: number, tid: number) {
    this.ids = new Fragment(`,"pid":${pid},"tid":${tid}`);
  }
}

/** Async ids `<prefix><n in hex>` ("vm0.vcpu1.0x1f"), n the span's number: `,"id":"<prefix>`, encoded once. */
export class HexIds {
  readonly field: Fragment;

  constructor(prefix: string) {
    this.field = new Fragment(`,"id":${openJsonString(prefix)}`);
  }
}

/** Args that repeat: `,"args":{…}`, encoded once. */
export class FixedArgs {
  readonly field: Fragment;

  constructor(args: TraceArgs) {
    this.field = new Fragment(`,"args":${JSON.stringify(args)}`);
  }
}

/**
 * Args with fixed keys and per-event values: `,"args":{"k0":`, `,"k1":`, … encoded once. Set `values`
 * (by key index) just before each event that passes the layout; the writer reads them there. The values
 * of `hexKeys` are numbers, printed as the strings `"0x<hex>"`.
 */
export class ArgsLayout {
  readonly keys: readonly Fragment[];
  /** Per key: 1 if its value is printed in hex. */
  readonly hex: Uint8Array;
  readonly values: (string | number | boolean)[];

  constructor(keys: readonly string[], hexKeys: readonly string[] = []) {
    this.hex = Uint8Array.from(keys, (k) => (hexKeys.includes(k) ? 1 : 0));
    this.keys = keys.map(
      (k, i) =>
        new Fragment(`${i === 0 ? ',"args":{' : ','}${JSON.stringify(k)}:${this.hex[i] ? '"0x' : ''}`),
    );
    this.values = keys.map(() => 0);
  }
}

/** An event's args: a record, a record encoded once (FixedArgs), or fixed keys (ArgsLayout). */
export type EventArgs = TraceArgs | FixedArgs | ArgsLayout;

/** A counter of a process with fixed series: `{"ph":"C","name":…,"pid":…,"tid":0` and `"key":` per series. */
export class CounterTrack {
  readonly head: Fragment;
  /** `,"args":{"k0":`, then `,"k1":`, … */
  readonly keys: readonly Fragment[];

  constructor(pid: number, name: string, keys: readonly string[]) {
    this.head = new Fragment(`{"ph":"C","name":${JSON.stringify(name)},"pid":${pid},"tid":0`);
    this.keys = keys.map((k, i) => new Fragment(`${i === 0 ? ',"args":{' : ','}${JSON.stringify(k)}:`));
  }
}

const TS = new Fragment(',"ts":');
const DUR = new Fragment(',"dur":');
const BP_ENCLOSING = new Fragment(',"bp":"e"');
const THREAD_SCOPE = new Fragment(',"s":"t"');

export class ChromeTraceWriter {
  private readonly out: AsciiOut;
  private first = true;
  /** Events written so far. */
  events = 0;

  constructor(write: (chunk: string) => void) {
    this.out = new AsciiOut(write);
    this.out.raw('{"traceEvents":[\n');
  }

  /** Bytes written so far. */
  get bytes(): number {
    return this.out.bytes;
  }

  /** Ends the previous event's line (`,\n`) unless this is the first; counts the event. */
  private separate(): AsciiOut {
    const o = this.out;
    if (this.first) this.first = false;
    else o.raw(',\n');
    this.events++;
    return o;
  }

  /** Starts an event: the separator, `{"ph":"<ph>"`. */
  private open(ph: string): AsciiOut {
    const o = this.separate();
    o.raw('{"ph":"');
    o.raw(ph);
    o.raw('"');
    return o;
  }

  /** A time in µs with three decimals, after its key (`,"ts":`). */
  private time(key: Fragment, ns: number): void {
    this.out.fragmentMicros(key, ns);
  }

  private ids(cat: string, name: string, pid: number, tid: number): void {
    const o = this.out;
    o.raw(',"cat":');
    o.jsonString(cat);
    o.raw(',"name":');
    o.jsonString(name);
    o.raw(',"pid":');
    o.int(pid);
    o.raw(',"tid":');
    o.int(tid);
  }

  /** `,"args":{…}` (unless there are none), then the event's closing brace. */
  private end(args: EventArgs | undefined): void {
    const o = this.out;
    if (args === undefined) {
      // none
    } else if (args instanceof FixedArgs) o.fragment(args.field);
    else if (args instanceof ArgsLayout) {
      const keys = args.keys;
      const values = args.values;
      for (let i = 0; i < keys.length; i++) {
        o.fragment(keys[i]!);
        if (args.hex[i] === 1) {
          o.hexDigits(values[i] as number);
          o.byte(0x22); // '"'
        } else this.value(values[i]!);
      }
      if (keys.length === 0) o.raw(',"args":{');
      o.byte(0x7d);
    } else {
      o.raw(',"args":{');
      const keys = Object.keys(args);
      for (let i = 0; i < keys.length; i++) {
        if (i > 0) o.byte(0x2c); // ','
        o.jsonString(keys[i]!);
        o.byte(0x3a); // ':'
        this.value(args[keys[i]!]!);
      }
      o.byte(0x7d);
    }
    o.byte(0x7d);
  }

  /** An arg's value as JSON.stringify prints it (a number as String(n), or null when not finite). */
  private value(v: string | number | boolean): void {
    const o = this.out;
    if (typeof v === 'string') o.jsonString(v);
    else if (typeof v === 'number') {
      if (Number.isFinite(v)) this.number(v);
      else o.raw('null');
    } else o.raw(v ? 'true' : 'false');
  }

  /** String(n): integers digit by digit, other numbers through String. */
  private number(n: number): void {
    if (Number.isSafeInteger(n)) this.out.int(n);
    else this.out.raw(String(n));
  }

  private meta(name: string, pid: number, tid: number, key: string, value: string | number): void {
    const o = this.open('M');
    o.raw(',"name":"');
    o.raw(name);
    o.raw('","pid":');
    o.int(pid);
    o.raw(',"tid":');
    o.int(tid);
    o.raw(',"args":{"');
    o.raw(key);
    o.raw('":');
    if (typeof value === 'number') o.int(value);
    else o.jsonString(value);
    o.raw('}}');
  }

  processName(pid: number, name: string, sortIndex: number): void {
    this.meta('process_name', pid, 0, 'name', name);
    this.meta('process_sort_index', pid, 0, 'sort_index', sortIndex);
  }

  threadName(pid: number, tid: number, name: string, sortIndex: number): void {
    this.meta('thread_name', pid, tid, 'name', name);
    this.meta('thread_sort_index', pid, tid, 'sort_index', sortIndex);
  }

  /** A slice ("X") of `durNs` starting at `tsNs` (its boundaries rounded to whole ns, each once). */
  complete(
    pid: number,
    tid: number,
    cat: string,
    name: string,
    tsNs: number,
    durNs: number,
    args?: TraceArgs,
  ): void {
    this.open('X');
    this.ids(cat, name, pid, tid);
    const t0 = Math.round(tsNs);
    this.time(TS, t0);
    this.time(DUR, Math.round(tsNs + durNs) - t0);
    this.end(args);
  }

  /** A thread-scoped instant ("i", "s":"t") at `tsNs`: an event that takes no time. */
  instantEvent(pid: number, tid: number, cat: string, name: string, tsNs: number, args?: TraceArgs): void {
    this.open('i');
    this.ids(cat, name, pid, tid);
    this.time(TS, tsNs);
    this.out.fragment(THREAD_SCOPE);
    this.end(args);
  }

  private async(
    ph: string,
    pid: number,
    tid: number,
    cat: string,
    name: string,
    id: string,
    tsNs: number,
  ): void {
    const o = this.open(ph);
    this.ids(cat, name, pid, tid);
    o.raw(',"id":');
    o.jsonString(id);
    this.time(TS, tsNs);
  }

  /** Begin ("b") / end ("e") of a nestable async span; spans with the same cat and id nest by time. */
  asyncBegin(
    pid: number,
    tid: number,
    cat: string,
    name: string,
    id: string,
    tsNs: number,
    args?: TraceArgs,
  ): void {
    this.async('b', pid, tid, cat, name, id, tsNs);
    this.end(args);
  }

  asyncEnd(
    pid: number,
    tid: number,
    cat: string,
    name: string,
    id: string,
    tsNs: number,
    args?: TraceArgs,
  ): void {
    this.async('e', pid, tid, cat, name, id, tsNs);
    this.end(args);
  }

  /** A flow arrow from the slice enclosing (pid, tid, tsNs) … */
  flowStart(pid: number, tid: number, cat: string, name: string, id: string, tsNs: number): void {
    this.async('s', pid, tid, cat, name, id, tsNs);
    this.end(undefined);
  }

  /** … to the slice enclosing this point ("bp":"e": enclosing, not the next one). */
  flowEnd(pid: number, tid: number, cat: string, name: string, id: string, tsNs: number): void {
    this.async('f', pid, tid, cat, name, id, tsNs);
    this.out.fragment(BP_ENCLOSING);
    this.end(undefined);
  }

  /** A counter ("C") sample: one track per key of `values`. */
  counter(pid: number, name: string, tsNs: number, values: Readonly<Record<string, number>>): void {
    const o = this.open('C');
    o.raw(',"name":');
    o.jsonString(name);
    o.raw(',"pid":');
    o.int(pid);
    o.raw(',"tid":0');
    this.time(TS, tsNs);
    o.raw(',"args":{');
    let first = true;
    for (const k in values) {
      if (!first) o.raw(',');
      first = false;
      o.jsonString(k);
      o.raw(':');
      o.text(String(values[k]));
    }
    o.raw('}}');
  }

  // Prepared events: the same bytes as the plain methods above, from parts encoded once.

  /**
   * complete() of the slice [t0Ns, t1Ns), for a kind of phase "X" (not numbered: a slice has no
   * number). Each boundary is rounded to a whole ns once; the duration is the difference.
   */
  slice(kind: EventKind, track: Track, t0Ns: number, t1Ns: number, args?: EventArgs): void {
    if (kind.numbered) throw new Error('slice: a numbered kind');
    const o = this.separate();
    o.fragment(kind.head);
    o.fragment(track.ids);
    const t0 = Math.round(t0Ns);
    this.time(TS, t0);
    this.time(DUR, Math.round(t1Ns) - t0);
    this.end(args);
  }

  /** instantEvent(), for a kind of phase "i". */
  instant(kind: EventKind, track: Track, tsNs: number, args?: EventArgs): void {
    if (kind.numbered) throw new Error('instant: a numbered kind');
    const o = this.separate();
    o.fragment(kind.head);
    o.fragment(track.ids);
    this.time(TS, tsNs);
    o.fragment(THREAD_SCOPE);
    this.end(args);
  }

  /**
   * The start of async event number n (its name's number, for a numbered kind, and its id's): head,
   * name, track, id and time.
   */
  private numbered(kind: EventKind, track: Track, ids: HexIds, n: number, tsNs: number): void {
    const o = this.separate();
    o.fragment(kind.head);
    if (kind.numbered) {
      o.hexDigits(n);
      o.byte(0x22); // '"'
    }
    o.fragment(track.ids);
    o.fragment(ids.field);
    o.hexDigits(n);
    o.byte(0x22);
    this.time(TS, tsNs);
  }

  /** asyncBegin() / asyncEnd() of span number n, for a kind of phase "b" / "e". */
  span(kind: EventKind, track: Track, ids: HexIds, n: number, tsNs: number, args?: EventArgs): void {
    this.numbered(kind, track, ids, n, tsNs);
    this.end(args);
  }

  /** flowStart() / flowEnd() of flow number n, for a kind of phase "s" / "f". */
  flow(kind: EventKind, track: Track, ids: HexIds, n: number, tsNs: number): void {
    this.numbered(kind, track, ids, n, tsNs);
    if (kind.ph === 'f') this.out.fragment(BP_ENCLOSING);
    this.out.byte(0x7d);
  }

  /** counter(), with values[i] the sample of the track's i-th series. */
  counterAt(track: CounterTrack, tsNs: number, values: ArrayLike<number>): void {
    const o = this.separate();
    o.fragment(track.head);
    this.time(TS, tsNs);
    const keys = track.keys;
    if (keys.length === 0) o.raw(',"args":{');
    for (let i = 0; i < keys.length; i++) {
      o.fragment(keys[i]!);
      this.number(values[i]!);
    }
    o.raw('}}');
  }

  flush(): void {
    this.out.flush();
  }

  /** Ends the JSON document; `displayTimeUnit` makes the viewers show ns. */
  close(): void {
    this.out.raw('\n],"displayTimeUnit":"ns"}\n');
    this.out.flush();
  }
}
