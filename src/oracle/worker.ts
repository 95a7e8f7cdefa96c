// The child process that runs one script on /dev/kvm (forked by backend.ts). It is disposable on
// purpose: a guest HLT with IF = 0 blocks KVM_RUN forever and a bad pointer segfaults, and either must
// only cost this process. Everything it learns is streamed to the parent as it happens, so the parent
// keeps the transcript up to the point of a hang or a crash.
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

export type WorkerMessage =
  | { type: 'op'; index: number; kind: string; budgetMs: number }
  | { type: 'record'; record: TranscriptRecord }
  | { type: 'end'; end: SessionEnd; sessionMs: number }
  | { type: 'error'; message: string };

function send(m: WorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, undefined, () => resolve()));
}

process.once('message', async (req: WorkerRequest) => {
  try {
    const libc = await loadLibc();
    if ('error' in libc) throw new Error(libc.error);
    const started = performance.now();
    const end = await runSession(libc, req.script, {
      device: req.device,
      guest: req.guest,
      hangMs: req.hangMs,
      settleMs: req.settleMs,
      onRecord: (record) => void send({ type: 'record', record }),
      onOp: (index, kind, budgetMs) => void send({ type: 'op', index, kind, budgetMs }),
    });
    await send({ type: 'end', end, sessionMs: performance.now() - started });
  } catch (e) {
    await send({ type: 'error', message: (e as Error).message });
  }
  process.disconnect();
});
