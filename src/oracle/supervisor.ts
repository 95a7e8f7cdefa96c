// The parent side of worker.ts: a child process that runs scripts one at a time, watched by a
// watchdog. Two timers per script: the current op's budget (announced by the worker before each op)
// and the whole-script limit. Either one firing kills the child with SIGKILL, which also ends a
// KVM_RUN blocked in the kernel; so does a crash. The next script then gets a fresh child: a worker
// that misbehaved once is never trusted with another VM.
import { type ChildProcess, fork } from 'node:child_process';
import { opVcpu, type Script } from '../script/schema.ts';
import type { OpRecord, TranscriptRecord } from '../script/transcript.ts';
import type { TaggedRequest, WorkerMessage, WorkerRequest } from './worker.ts';
import { type WorkerEntry, workerEntry } from './worker_bundle.ts';

export type Supervised =
  | { status: 'ok'; records: TranscriptRecord[]; sessionMs: number }
  | { status: 'hang' | 'crash'; reason: string; records: TranscriptRecord[] };

interface Pending {
  id: number;
  request: WorkerRequest;
  records: TranscriptRecord[];
  resolve(r: Supervised): void;
  current: { index: number; kind: string } | null;
  opTimer?: ReturnType<typeof setTimeout>;
  overall?: ReturnType<typeof setTimeout>;
}

export class KvmWorker {
  private child: ChildProcess | null = null;
  private stderr = '';
  private pending: Pending | null = null;
  private nextId = 1;
  /** How many child processes this worker has started (1 unless scripts hung or crashed). */
  spawned = 0;

  /** Runs one script; the caller waits for it before sending the next. */
  async run(request: WorkerRequest, timeoutMs: number): Promise<Supervised> {
    if (this.pending) throw new Error('KvmWorker.run: a script is already running');
    const child = this.child ?? this.spawn(await workerEntry());
    return new Promise((resolve) => {
      const p: Pending = { id: this.nextId++, request, records: [], resolve, current: null };
      this.pending = p;
      p.overall = setTimeout(
        () => this.hang(p, `the script did not finish within ${timeoutMs} ms`),
        timeoutMs,
      );
      const tagged: TaggedRequest = { ...request, id: p.id };
      child.send(tagged);
    });
  }

  /** Lets an idle child exit; a running script is killed. */
  close(): void {
    const child = this.child;
    this.child = null;
    if (!child) return;
    if (this.pending) child.kill('SIGKILL');
    else if (child.connected) child.disconnect();
  }

  private spawn(entry: WorkerEntry): ChildProcess {
    const child = fork(entry.path, [], {
      execArgv: entry.execArgv,
      serialization: 'advanced', // the script holds bigints
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    this.spawned++;
    this.stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      if (this.child === child) this.stderr = (this.stderr + d.toString()).slice(-2000);
    });
    child.on('message', (m: WorkerMessage) => {
      if (this.child === child) this.onMessage(m);
    });
    // A failed send or spawn: the script cannot run in this child; its exit (if any) follows.
    child.on('error', (e) => {
      const p = this.pending;
      if (this.child !== child || !p) return;
      this.kill();
      this.finish(p, { status: 'crash', reason: `the KVM worker failed: ${e.message}`, records: p.records });
    });
    child.on('exit', (code, signal) => {
      if (this.child !== child) return;
      this.child = null;
      const p = this.pending;
      if (!p) return;
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const tail = this.stderr.trim().split('\n').slice(-3).join(' | ');
      this.finish(p, {
        status: 'crash',
        reason: `the KVM worker died (${how})${tail ? `: ${tail}` : ''}`,
        records: p.records,
      });
    });
    this.child = child;
    return child;
  }

  private onMessage(m: WorkerMessage): void {
    const p = this.pending;
    if (!p || m.id !== p.id) return;
    switch (m.type) {
      case 'op':
        p.current = m;
        clearTimeout(p.opTimer);
        p.opTimer = setTimeout(
          () =>
            this.hang(p, `op ${m.index} (${m.kind}) made no progress within ${Math.round(m.budgetMs)} ms`),
          m.budgetMs,
        );
        break;
      case 'record':
        p.records.push(m.record);
        break;
      case 'end':
        if (m.end.end === 'hang')
          this.finish(p, { status: 'hang', reason: m.end.reason, records: p.records });
        else this.finish(p, { status: 'ok', records: p.records, sessionMs: m.sessionMs });
        break;
      case 'error':
        this.kill();
        this.finish(p, { status: 'crash', reason: m.message, records: p.records });
        break;
    }
  }

  private hang(p: Pending, reason: string): void {
    if (this.pending !== p) return;
    const op = p.current;
    const recorded = op && p.records.some((r) => 'op' in r && r.op === op.index);
    const hung = op && !recorded ? [hangRecord(p.request.script, op.index, op.kind)] : [];
    this.kill();
    this.finish(p, { status: 'hang', reason, records: [...p.records, ...hung] });
  }

  private kill(): void {
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
  }

  private finish(p: Pending, r: Supervised): void {
    if (this.pending !== p) return;
    this.pending = null;
    clearTimeout(p.opTimer);
    clearTimeout(p.overall);
    p.resolve(r);
  }
}

/** Runs one script in a child process of its own. Exported for the watchdog tests. */
export async function supervise(request: WorkerRequest, timeoutMs: number): Promise<Supervised> {
  const w = new KvmWorker();
  try {
    return await w.run(request, timeoutMs);
  } finally {
    w.close();
  }
}

/** The record of an op that never completed, shaped like the session's op records. */
function hangRecord(script: Script, index: number, kind: string): OpRecord {
  const vcpu = script.vm.vcpus > 1 ? { vcpu: script.ops[index] ? opVcpu(script.ops[index]) : 0 } : {};
  return { op: index, kind, ...vcpu, result: 'hang' };
}
