// ftrace's text format (the `trace` file and `trace-cmd report`): one line per event,
//   <comm>-<pid> [<cpu>] <flags> <seconds>.<usecs>: <event>: <printk text>
// Virtual time is in nanoseconds; the kernel prints seconds with 6 decimals.

export interface FtraceLine {
  comm: string;
  pid: number;
  cpu: number;
  timeNs: number;
  event: string;
  text: string;
}

export function formatFtraceLine(l: FtraceLine): string {
  const task = `${l.comm}-${l.pid}`.padStart(22);
  const cpu = String(l.cpu).padStart(3, '0');
  const secs = Math.floor(l.timeNs / 1e9);
  const usecs = Math.floor((l.timeNs % 1e9) / 1e3);
  const ts = `${String(secs).padStart(5)}.${String(usecs).padStart(6, '0')}`;
  return `${task} [${cpu}] ..... ${ts}: ${l.event}: ${l.text}`;
}

/** The header trace-cmd and the `trace` file print before the events. */
export const FTRACE_HEADER = [
  '# tracer: nop',
  '#',
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
 * A streaming ftrace text file: the header, then one line per event, handed to `write` in chunks of
 * about 1 MiB (a long simulation produces millions of lines).
 */
export class FtraceWriter {
  private buf: string[] = [];
  private bufLen = 0;
  lines = 0;

  constructor(private readonly write: (chunk: string) => void) {
    this.write(`${FTRACE_HEADER}\n`);
  }

  line(l: FtraceLine): void {
    const s = `${formatFtraceLine(l)}\n`;
    this.buf.push(s);
    this.bufLen += s.length;
    this.lines++;
    if (this.bufLen >= 1 << 16) this.flush();
  }

  flush(): void {
    if (this.buf.length === 0) return;
    this.write(this.buf.join(''));
    this.buf = [];
    this.bufLen = 0;
  }

  close(): void {
    this.flush();
  }
}
