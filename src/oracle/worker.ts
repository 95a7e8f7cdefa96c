// The child process that runs scripts on /dev/kvm (forked by supervisor.ts). It is disposable on
// purpose: a guest HLT with IF = 0 blocks KVM_RUN forever and a bad pointer segfaults, and either must
// only cost this process. Everything it learns is streamed to the parent as it happens, so the parent
// keeps the transcript up to the point of a hang or a crash.
//
// One worker runs many scripts, one after the other, each on a fresh VM: starting node with the tsx
// loader costs ~0.4 s, a session 20–50 ms, so a batch would otherwise be almost all process start-up.
// Nothing carries over between sessions but the libc bindings: every session opens its own /dev/kvm
// fd, VM, memory and userfaultfd, and closes them before the next starts.
import type { Script } from '../script/schema.ts';
import type { TranscriptRecord } from '../script/transcript.ts';
import { loadLibc } from './ffi.ts';
import type { GuestKind } from './machine.ts';
import { runSession, type SessionEnd } from './session.ts';

export interface WorkerRequest {
  script: Script;
  device: string;
  guest: GuestKind;
  hangMs: number;
  settleMs: number;
}

/** A request as sent to the child: `id` tags every message about it. */
export interface TaggedRequest extends WorkerRequest {
  id: number;
}

export type WorkerMessage = { id: number } & (
  | { type: 'op'; index: number; kind: string; budgetMs: number }
  | { type: 'record'; record: TranscriptRecord }
  | { type: 'end'; end: SessionEnd; sessionMs: number }
  | { type: 'error'; message: string }
);

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, undefined, () => resolve()));
}

/** The parent sends one request at a time and waits for its `end` or `error`; this queue is a guard. */
let chain: Promise<void> = Promise.resolve();

process.on('message', (req: TaggedRequest) => {
  chain = chain.then(() => serve(req));
});
// The parent is done with this worker (or died): nothing else will come.
process.on('disconnect', () => process.exit(0));

async function serve(req: TaggedRequest): Promise<void> {
  const id = req.id;
  try {
    const libc = await loadLibc();
    if ('error' in libc) throw new Error(libc.error);
    const started = performance.now();
    const end = await runSession(libc, req.script, {
      device: req.device,
      guest: req.guest,
      hangMs: req.hangMs,
      settleMs: req.settleMs,
      onRecord: (record) => void send({ id, type: 'record', record }),
      onOp: (index, kind, budgetMs) => void send({ id, type: 'op', index, kind, budgetMs }),
    });
    await send({ id, type: 'end', end, sessionMs: performance.now() - started });
  } catch (e) {
    await send({ id, type: 'error', message: (e as Error).message });
  }
}
