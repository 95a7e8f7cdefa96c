// The text of the kernel's tracefs `trace` file (kernel/trace/trace.c and trace_output.c; not
// `trace-cmd report`, which prints differently): a header — `# tracer: nop`, a blank `#`, the
// `# entries-in-buffer/entries-written: N/N   #P:N` line, a blank `#`, the column legend — then one
// line per event,
//   <comm right-aligned in 16>-<pid left-aligned in 7> [<cpu, 3 digits>] <flags> <secs>.<usecs>: <event>: <printk text>
// as trace_print_context prints it (`%16s-%-7d [%03d] ` then the five latency flags and ` %5lu.%06lu: `).
// Virtual time is in nanoseconds; the kernel prints seconds with 6 decimals, truncated.
//
// The header counts the lines, so it is known only at the end: FtraceWriter writes the lines, and
// header() gives the text to put before them (ftrace_spool.ts does that for a file).
//
// Lines are encoded into a byte buffer (ascii_out.ts) and handed to `write` in 64 KiB chunks. A hot
// caller prepares the constant columns — the task and CPU (FtraceTask), the event and its printk format
// (FtraceFormat) — once, and then writes a line as one copy of each plus the timestamp and the fields.
import { AsciiOut, Fragment } from './ascii_out.ts';

export interface FtraceLine {
  comm: string;
  pid: number;
  cpu: number;
  timeNs: number;
  event: string;
  text: string;
}

/** `%16s-%-7d [%03d] ` (comm, pid, cpu), then the flags (nothing to report: all dots) and a space. */
const taskColumns = (comm: string, pid: number, cpu: number): string =>
  `${comm.padStart(16)}-${String(pid).padEnd(7)} [${String(cpu).padStart(3, '0')}] ..... `;

/** Seconds (right-aligned in 5 columns) and microseconds (6 digits) of a time in ns. */
function timestamp(timeNs: number): string {
  const secs = Math.floor(timeNs / 1e9);
  const usecs = Math.floor((timeNs % 1e9) / 1e3);
  return `${String(secs).padStart(5)}.${String(usecs).padStart(6, '0')}`;
}

export function formatFtraceLine(l: FtraceLine): string {
  return `${taskColumns(l.comm, l.pid, l.cpu)}${timestamp(l.timeNs)}: ${l.event}: ${l.text}`;
}

/** The column legend of the `trace` file's header (after the entries line). */
const FTRACE_LEGEND = [
  '#                                _-----=> irqs-off/BH-disabled',
  '#                               / _----=> need-resched',
  '#                              | / _---=> hardirq/softirq',
  '#                              || / _--=> preempt-depth',
  '#                              ||| / _-=> migrate-disable',
  '#                              |||| /     delay',
  '#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION',
  '#              | |         |   |||||     |         |',
].join('\n');

/**
 * The header the `trace` file prints before `entries` events of a machine with `cpus` CPUs (nothing
 * lost: entries in the buffer = entries written), ending in a newline.
 */
export function ftraceHeader(entries: number, cpus: number): string {
  return `# tracer: nop\n#\n# entries-in-buffer/entries-written: ${entries}/${entries}   #P:${cpus}\n#\n${FTRACE_LEGEND}\n`;
}

/** A whole `trace` file of the given lines (each without its newline). */
export function ftraceText(lines: readonly string[], cpus: number): string {
  return `${ftraceHeader(lines.length, cpus)}${lines.join('\n')}${lines.length ? '\n' : ''}`;
}

/** The columns of a line before its timestamp (task, CPU, flags), encoded once. */
export class FtraceTask {
  readonly columns: Fragment;

  constructor(comm: string, pid: number, cpu: number) {
    this.columns = new Fragment(taskColumns(comm, pid, cpu));
  }
}

/**
 * An event and its printk text as literal pieces around hex fields: the text is
 * pieces[0] + hex(field 0) + pieces[1] + … + pieces[n], where field i is the line's a (fields[i] = 0)
 * or b (1), printed like Number.prototype.toString(16). Encoded once.
 */
export class FtraceFormat {
  /** `: <event>: ` + pieces[0]. */
  readonly head: Fragment;
  readonly fields: Uint8Array;
  /** pieces[1…]. */
  readonly rest: readonly Fragment[];

  constructor(
    event: string,
    private readonly pieces: readonly string[],
    fields: readonly number[],
  ) {
    if (pieces.length !== fields.length + 1 || fields.some((f) => f !== 0 && f !== 1))
      throw new Error(`FtraceFormat ${event}: ${pieces.length} pieces for fields ${fields.join()}`);
    this.head = new Fragment(`: ${event}: ${pieces[0]}`);
    this.fields = Uint8Array.from(fields);
    this.rest = pieces.slice(1).map((p) => new Fragment(p));
  }

  /** The printk text with fields a and b, as a string: what `FtraceWriter.formatted` writes. */
  text(a: number, b: number): string {
    let s = this.pieces[0]!;
    for (let i = 0; i < this.fields.length; i++)
      s += (this.fields[i] === 0 ? a : b).toString(16) + this.pieces[i + 1]!;
    return s;
  }
}

/**
 * The lines of a `trace` file, one per event, handed to `write` in 64 KiB chunks (a long simulation
 * produces millions of lines); header() is what goes before them, once they are all written.
 */
export class FtraceWriter {
  private readonly out: AsciiOut;
  lines = 0;

  /** `cpus`: the #P of the header (the traced machine's CPUs); its owner may set it before close. */
  constructor(
    write: (chunk: string) => void,
    public cpus = 1,
  ) {
    this.out = new AsciiOut(write);
  }

  /** The header for the lines written so far. */
  header(): string {
    return ftraceHeader(this.lines, this.cpus);
  }

  line(l: FtraceLine): void {
    this.out.text(formatFtraceLine(l));
    this.out.byte(0x0a);
    this.lines++;
  }

  /** The line formatFtraceLine makes of task's columns, timeNs and fmt's event and text with a and b. */
  formatted(task: FtraceTask, timeNs: number, fmt: FtraceFormat, a: number, b: number): void {
    const o = this.out;
    o.fragment(task.columns);
    this.timestamp(timeNs);
    o.fragment(fmt.head);
    const fields = fmt.fields;
    const rest = fmt.rest;
    for (let i = 0; i < fields.length; i++) {
      o.hexDigits(fields[i] === 0 ? a : b);
      o.fragment(rest[i]!);
    }
    o.byte(0x0a);
    this.lines++;
  }

  /** The line formatFtraceLine makes of task's columns, timeNs, event and text. */
  lineOf(task: FtraceTask, timeNs: number, event: string, text: string): void {
    const o = this.out;
    o.fragment(task.columns);
    this.timestamp(timeNs);
    o.text(`: ${event}: ${text}`);
    o.byte(0x0a);
    this.lines++;
  }

  /** timestamp(timeNs), digit by digit for the usual times (finite, ≥ 0). */
  private timestamp(timeNs: number): void {
    const o = this.out;
    if (!(timeNs >= 0 && timeNs < Number.MAX_SAFE_INTEGER)) {
      o.raw(timestamp(timeNs));
      return;
    }
    const secs = Math.floor(timeNs / 1e9);
    o.spacePadded(secs, 5);
    o.byte(0x2e); // '.'
    o.padded(Math.floor((timeNs % 1e9) / 1e3), 6);
  }

  flush(): void {
    this.out.flush();
  }

  close(): void {
    this.flush();
  }
}
