// Chrome Trace Event Format (the JSON that Perfetto and chrome://tracing load), written as a stream:
// `{"traceEvents":[` + one event per line + `]}`. Nothing here is specific to KVM: callers name their
// processes, threads, slices, async spans, flows and counters. Times are virtual nanoseconds, printed as
// microseconds with exactly three decimals (so ns survive, and the bytes are a function of the values).
// Events are encoded straight into a byte buffer (ascii_out.ts) and handed to `write` in 64 KiB chunks.
import { AsciiOut } from './ascii_out.ts';

export type TraceArgs = Readonly<Record<string, string | number | boolean>>;

/** ns → "µs.nnn" (rounded to whole ns). */
export function formatTraceTime(ns: number): string {
  const n = Math.round(ns);
  const us = Math.floor(n / 1000);
  const r = n - us * 1000;
  return `${us}.${r < 10 ? '00' : r < 100 ? '0' : ''}${r}`;
}

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

  /** Starts an event: the separator, `{"ph":"<ph>"`. */
  private open(ph: string): AsciiOut {
    const o = this.out;
    if (this.first) this.first = false;
    else o.raw(',\n');
    o.raw('{"ph":"');
    o.raw(ph);
    o.raw('"');
    this.events++;
    return o;
  }

  private time(key: string, ns: number): void {
    const o = this.out;
    const n = Math.round(ns);
    const us = Math.floor(n / 1000);
    o.raw(key);
    o.int(us);
    o.raw('.');
    o.padded(n - us * 1000, 3);
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

  private end(args: TraceArgs | undefined): void {
    const o = this.out;
    if (args !== undefined) {
      o.raw(',"args":');
      o.text(JSON.stringify(args));
    }
    o.raw('}');
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

  /** A slice ("X") of `durNs` starting at `tsNs`. */
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
    this.time(',"ts":', tsNs);
    this.time(',"dur":', durNs);
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
    this.time(',"ts":', tsNs);
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
    this.out.raw(',"bp":"e"');
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
    this.time(',"ts":', tsNs);
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

  flush(): void {
    this.out.flush();
  }

  /** Ends the JSON document; `displayTimeUnit` makes the viewers show ns. */
  close(): void {
    this.out.raw('\n],"displayTimeUnit":"ns"}\n');
    this.out.flush();
  }
}
