// A script run's Chrome Trace Event JSON (`kvmsim script --trace`), made from its ftrace lines: a
// script has no per-step durations, only the tracepoints it hit and when (virtual time), so each line
// becomes a thread-scoped instant named after its event, with its printk text in the args, on the
// thread the line names. The VMM process holds the vCPU threads (`CPU n/KVM`) and its main thread;
// the host's kernel threads (async-PF workers, ksmd, kswapd, khugepaged) are the host process's. A
// thread's tid is its ftrace pid, so the two outputs name a thread by one number.
import { ChromeTraceWriter } from './chrome.ts';

/** The lines' layout (ftrace.ts): task, pid, cpu, flags, seconds, µs, event, text. */
const LINE = /^ *(.+)-(\d+) +\[(\d+)\] .{5} +(\d+)\.(\d{6}): ([A-Za-z0-9_]+): (.*)$/;

const HOST_PID = 1;
/** The pid a script's ftrace lines give the VMM (`qemu-system-x86`, src/script/host_mm.ts). */
export const SCRIPT_VMM_PID = 999;

/** Writes the trace of `lines` (formatFtraceLine's, in time order); `vmmPid`: the VMM process's pid. */
export function writeFtraceAsChrome(
  lines: readonly string[],
  title: string,
  vmmPid: number,
  write: (chunk: string) => void,
): void {
  const w = new ChromeTraceWriter(write);
  w.processName(HOST_PID, 'host', 0);
  w.processName(vmmPid, title, 1);
  const threads = new Map<number, number>();
  for (const l of lines) {
    const m = LINE.exec(l);
    if (!m) throw new Error(`not an ftrace line: ${JSON.stringify(l)}`);
    const [, comm, p, , secs, usecs, event, text] = m;
    const tid = Number(p);
    const inVmm = comm!.startsWith('CPU ') || tid === vmmPid;
    const pid = inVmm ? vmmPid : HOST_PID;
    if (!threads.has(tid)) {
      threads.set(tid, pid);
      w.threadName(pid, tid, comm!.trim(), threads.size);
    }
    const ns = (Number(secs) * 1_000_000 + Number(usecs)) * 1000;
    w.instantEvent(pid, tid, 'tracepoint', event!, ns, { text: text! });
  }
  w.close();
}
