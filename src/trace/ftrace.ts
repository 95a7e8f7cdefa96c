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
