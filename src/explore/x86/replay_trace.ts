// A replayed counterexample as traces, through the simulator's writers: Chrome Trace Event JSON for
// Perfetto (one process, a thread per actor — each vCPU, the async workers, the environment — and one
// 1 µs slice per step, with its changes as args) and ftrace text with the kvm_*async_pf* tracepoints the
// steps hit, in the kernel's line format. Step i is placed at i µs: the explorer has no time, only order.
import { ChromeTraceWriter } from '../../trace/chrome.ts';
import { FtraceWriter } from '../../trace/ftrace.ts';
import type { Replay } from './counterexample.ts';

const STEP_NS = 1000;
const PID = 1;
/** The ftrace pids of vCPU c's thread (`CPU c/KVM`) and of its async-PF worker (`kworker/c:1`). */
const VCPU_PID = 1000;
const WORKER_PID = 100;
/**
 * The JSON's thread ids: a vCPU's is its ftrace pid, so the two outputs name one thread by one number;
 * the other actors have numbers no ftrace line uses.
 */
function actorTid(actor: string): number {
  const v = /^vCPU (\d+)$/.exec(actor);
  if (v) return VCPU_PID + Number(v[1]);
  return actor === 'async_pf workers' ? 10 : actor === 'host' ? 2 : 3;
}

/** The thread a step belongs to, from its label: "vcpu0 run…", "worker: … vcpu1 …", "env: …", "host: …". */
function actor(label: string): string {
  const v = /^vcpu(\d+)/.exec(label);
  if (v) return `vCPU ${v[1]}`;
  if (label.startsWith('worker')) return 'async_pf workers';
  if (label.startsWith('host')) return 'host';
  return 'environment';
}

export function writeReplayChromeTrace(r: Replay, title: string, write: (chunk: string) => void): void {
  const w = new ChromeTraceWriter(write);
  w.processName(PID, title, 0);
  const tids = new Map<string, number>();
  const tid = (name: string): number => {
    let t = tids.get(name);
    if (t === undefined) {
      t = actorTid(name);
      w.threadName(PID, t, name, tids.size + 1);
      tids.set(name, t);
    }
    return t;
  };
  r.steps.forEach((s, i) => {
    const args: Record<string, string> = { step: String(i + 1) };
    for (const c of s.changes) args[c.field] = `${c.before} -> ${c.after}`;
    if (s.events.length > 0) args.events = s.events.join('\n');
    if (s.stepViolation !== null) args.violation = s.stepViolation;
    if (r.loopStart >= 0 && i >= r.loopStart) args.loop = 'repeats for ever';
    w.complete(PID, tid(actor(s.label)), 'explore', s.label, i * STEP_NS, STEP_NS, args);
  });
  w.close();
}

const TRACE_RE = /^trace vcpu(\d+): (kvm_[a-z_]+): (.*)$/;

export function writeReplayFtrace(r: Replay, write: (chunk: string) => void): void {
  let body = '';
  const w = new FtraceWriter((c) => {
    body += c;
  });
  let cpus = 1;
  r.steps.forEach((s, i) => {
    for (const e of s.events) {
      const m = TRACE_RE.exec(e);
      if (!m) continue;
      const cpu = Number(m[1]);
      cpus = Math.max(cpus, cpu + 1);
      const worker = m[2] === 'kvm_async_pf_completed';
      w.line({
        comm: worker ? `kworker/${cpu}:1` : `CPU ${cpu}/KVM`,
        pid: worker ? WORKER_PID + cpu : VCPU_PID + cpu,
        cpu,
        timeNs: i * STEP_NS,
        event: m[2]!,
        text: m[3]!,
      });
    }
  });
  w.close();
  w.cpus = cpus;
  write(w.header() + body);
}
