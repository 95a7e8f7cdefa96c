// The real-KVM backend for x86 `kind: script` scenarios: runs a script on /dev/kvm and returns the same
// normalized transcript as the model backend, or says why it could not. The kernel is the protocol
// here; this module only probes, plans, and supervises a child process per script with a watchdog.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Script } from '../script/schema.ts';
import type { OpRecord, TranscriptRecord } from '../script/transcript.ts';
import { type HostFingerprint, hostFingerprint } from './fingerprint.ts';
import type { GuestKind } from './machine.ts';
import { type GuestChoice, planKvmRun } from './plan.ts';
import { probeKvm } from './probe.ts';
import type { WorkerMessage, WorkerRequest } from './worker.ts';

export interface KvmRunOptions {
  /** Wall-clock limit for the whole script, VM creation included. Default 30 s. */
  timeoutMs?: number;
  /** How long one op may make no progress (beyond its backing delays) before it counts as a hang.
   * Default 1000 ms. */
  hangMs?: number;
  /** How long `run` waits after the last page-in for KVM's page-ready to arrive. Default 25 ms. */
  settleMs?: number;
  /** Force a guest instead of the automatic choice (for cross-checking the two guests). */
  guest?: GuestChoice;
  /** Environment for the probe (KVM_ORACLE, KVM_ORACLE_DEVICE). Default process.env. */
  env?: NodeJS.ProcessEnv;
}

export type KvmRunResult =
  | {
      status: 'ok';
      records: TranscriptRecord[];
      fingerprint: HostFingerprint;
      guest: GuestKind;
      /** What the backend chose or could not honour (guest, MMU mismatch …). */
      notes: string[];
      /** Wall time: all of it, and the part spent in the worker on the VM (creation to teardown). */
      elapsedMs: number;
      sessionMs: number;
    }
  | { status: 'skipped' | 'unavailable'; reason: string; fingerprint?: HostFingerprint }
  | {
      status: 'hang' | 'crash';
      reason: string;
      /** The transcript up to the hang or crash; after a hang it ends with the hung op's record. */
      records: TranscriptRecord[];
      fingerprint: HostFingerprint;
    };

const fingerprints = new Map<string, HostFingerprint>();

export async function runScriptOnKvm(script: Script, opts: KvmRunOptions = {}): Promise<KvmRunResult> {
  const probe = await probeKvm(opts.env);
  if (!probe.ok) return { status: 'unavailable', reason: probe.reason };
  let fingerprint = fingerprints.get(probe.device);
  if (!fingerprint) {
    fingerprint = hostFingerprint(probe.libc, probe.device);
    fingerprints.set(probe.device, fingerprint);
  }
  const plan = planKvmRun(script, fingerprint, opts.guest);
  if (!plan.run) return { status: 'skipped', reason: plan.reason, fingerprint };
  const request: WorkerRequest = {
    script,
    device: probe.device,
    guest: plan.guest,
    hangMs: opts.hangMs ?? 1000,
    settleMs: opts.settleMs ?? 25,
  };
  const started = performance.now();
  const out = await supervise(request, opts.timeoutMs ?? 30_000);
  if (out.status !== 'ok') return { ...out, fingerprint };
  return {
    status: 'ok',
    records: out.records,
    fingerprint,
    guest: plan.guest,
    notes: plan.notes,
    elapsedMs: performance.now() - started,
    sessionMs: out.sessionMs,
  };
}

export type Supervised =
  | { status: 'ok'; records: TranscriptRecord[]; sessionMs: number }
  | { status: 'hang' | 'crash'; reason: string; records: TranscriptRecord[] };

/**
 * Runs the worker and watches it. Two timers: the current op's budget (announced by the worker before
 * each op) and the whole-script limit. Either one firing kills the worker with SIGKILL, which also
 * ends a KVM_RUN blocked in the kernel. Exported for the watchdog tests.
 */
export function supervise(request: WorkerRequest, timeoutMs: number): Promise<Supervised> {
  const worker = fileURLToPath(new URL('./worker.ts', import.meta.url));
  const child = fork(worker, [], {
    execArgv: ['--import', import.meta.resolve('tsx')],
    serialization: 'advanced', // the script holds bigints
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  const records: TranscriptRecord[] = [];
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-2000);
  });
  return new Promise((resolve) => {
    let current: { index: number; kind: string; budgetMs: number } | null = null;
    let opTimer: ReturnType<typeof setTimeout> | undefined;
    let settled = false;
    const finish = (r: Supervised, kill: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(opTimer);
      clearTimeout(overall);
      if (kill) child.kill('SIGKILL');
      resolve(r);
    };
    const hang = (reason: string) => {
      const op = current;
      const recorded = op && records.some((r) => 'op' in r && r.op === op.index);
      const hung = op && !recorded ? [hangRecord(request.script, op.index, op.kind)] : [];
      finish({ status: 'hang', reason, records: [...records, ...hung] }, true);
    };
    const overall = setTimeout(() => hang(`the script did not finish within ${timeoutMs} ms`), timeoutMs);
    child.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'op':
          current = m;
          clearTimeout(opTimer);
          opTimer = setTimeout(
            () => hang(`op ${m.index} (${m.kind}) made no progress within ${Math.round(m.budgetMs)} ms`),
            m.budgetMs,
          );
          break;
        case 'record':
          records.push(m.record);
          break;
        case 'end':
          if (m.end.end === 'hang') finish({ status: 'hang', reason: m.end.reason, records }, false);
          else finish({ status: 'ok', records, sessionMs: m.sessionMs }, false);
          break;
        case 'error':
          finish({ status: 'crash', reason: m.message, records }, true);
          break;
      }
    });
    child.on('exit', (code, signal) => {
      const how = signal ? `signal ${signal}` : `exit code ${code}`;
      const tail = stderr.trim().split('\n').slice(-3).join(' | ');
      finish(
        { status: 'crash', reason: `the KVM worker died (${how})${tail ? `: ${tail}` : ''}`, records },
        false,
      );
    });
    child.send(request);
  });
}

/** The record of an op that never completed, shaped like the session's op records. */
function hangRecord(script: Script, index: number, kind: string): OpRecord {
  const vcpu = script.vm.vcpus > 1 ? { vcpu: script.ops[index]?.vcpu ?? 0 } : {};
  return { op: index, kind, ...vcpu, result: 'hang' };
}
