// Chrome Trace Event Format (the JSON that Perfetto and chrome://tracing load), written as a stream:
// `{"traceEvents":[` + one event per line + `]}`. Nothing here is specific to KVM: callers name their
// processes, threads, slices, async spans, flows and counters. Times are virtual nanoseconds, printed as
// microseconds with exactly three decimals (so ns survive, and the bytes are a function of the values).
// Events are buffered and handed to `write` in chunks of about 1 MiB.

export type TraceArgs = Readonly<Record<string, string | number | boolean>>;

/** ns → "µs.nnn" (rounded to whole ns). */
export function formatTraceTime(ns: number): string {
  const n = Math.round(ns);
  const us = Math.floor(n / 1000);
  const r = n - us * 1000;
  return `${us}.${r < 10 ? '00' : r < 100 ? '0' : ''}${r}`;
}

const argsJson = (args: TraceArgs | undefined): string =>
  args === undefined ? '' : `,"args":${JSON.stringify(args)}`;

export class ChromeTraceWriter {
  private buf: string[] = [];
  private bufLen = 0;
  private first = true;
  private readonly quoted = new Map<string, string>();
  /** Events written so far. */
  events = 0;

  constructor(private readonly write: (chunk: string) => void) {
    this.write('{"traceEvents":[\n');
  }

  /** A JSON string literal, cached (names repeat). */
  private q(s: string): string {
    let v = this.quoted.get(s);
    if (v === undefined) {
      v = JSON.stringify(s);
      this.quoted.set(s, v);
    }
    return v;
  }

  private emit(ev: string): void {
    const line = this.first ? ev : `,\n${ev}`;
    this.first = false;
    this.buf.push(line);
    this.bufLen += line.length;
    this.events++;
    if (this.bufLen >= 1 << 20) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.write(this.buf.join(''));
    this.buf = [];
    this.bufLen = 0;
  }

  processName(pid: number, name: string, sortIndex: number): void {
    this.emit(`{"ph":"M","name":"process_name","pid":${pid},"tid":0,"args":{"name":${this.q(name)}}}`);
    this.emit(
      `{"ph":"M","name":"process_sort_index","pid":${pid},"tid":0,"args":{"sort_index":${sortIndex}}}`,
    );
  }

  threadName(pid: number, tid: number, name: string, sortIndex: number): void {
    this.emit(`{"ph":"M","name":"thread_name","pid":${pid},"tid":${tid},"args":{"name":${this.q(name)}}}`);
    this.emit(
      `{"ph":"M","name":"thread_sort_index","pid":${pid},"tid":${tid},"args":{"sort_index":${sortIndex}}}`,
    );
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
    this.emit(
      `{"ph":"X","cat":${this.q(cat)},"name":${this.q(name)},"pid":${pid},"tid":${tid},"ts":${formatTraceTime(tsNs)},"dur":${formatTraceTime(durNs)}${argsJson(args)}}`,
    );
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
    this.emit(
      `{"ph":"b","cat":${this.q(cat)},"name":${this.q(name)},"id":${this.q(id)},"pid":${pid},"tid":${tid},"ts":${formatTraceTime(tsNs)}${argsJson(args)}}`,
    );
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
    this.emit(
      `{"ph":"e","cat":${this.q(cat)},"name":${this.q(name)},"id":${this.q(id)},"pid":${pid},"tid":${tid},"ts":${formatTraceTime(tsNs)}${argsJson(args)}}`,
    );
  }

  /** A flow arrow from the slice enclosing (pid, tid, tsNs) … */
  flowStart(pid: number, tid: number, cat: string, name: string, id: string, tsNs: number): void {
    this.emit(
      `{"ph":"s","cat":${this.q(cat)},"name":${this.q(name)},"id":${this.q(id)},"pid":${pid},"tid":${tid},"ts":${formatTraceTime(tsNs)}}`,
    );
  }

  /** … to the slice enclosing this point ("bp":"e": enclosing, not the next one). */
  flowEnd(pid: number, tid: number, cat: string, name: string, id: string, tsNs: number): void {
    this.emit(
      `{"ph":"f","bp":"e","cat":${this.q(cat)},"name":${this.q(name)},"id":${this.q(id)},"pid":${pid},"tid":${tid},"ts":${formatTraceTime(tsNs)}}`,
    );
  }

  /** A counter ("C") sample: one track per args key. */
  counter(pid: number, name: string, tsNs: number, values: Readonly<Record<string, number>>): void {
    this.emit(
      `{"ph":"C","name":${this.q(name)},"pid":${pid},"tid":0,"ts":${formatTraceTime(tsNs)},"args":${JSON.stringify(values)}}`,
    );
  }

  /** Ends the JSON document; `displayTimeUnit` makes the viewers show ns. */
  close(): void {
    this.buf.push('\n],"displayTimeUnit":"ns"}\n');
    this.flush();
  }
}
