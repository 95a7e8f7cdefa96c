// The real-KVM backend for x86 `kind: script` scenarios: runs a script on /dev/kvm and returns the same
// normalized transcript as the model backend, or says why it could not. The kernel is the protocol
// here; this module only probes, plans, and hands the scripts to supervised worker processes
// (supervisor.ts), which run them on fresh VMs with a watchdog.
import { availableParallelism } from 'node:os';
import type { Script } from '../script/schema.ts';
import type { TranscriptRecord } from '../script/transcript.ts';
import { type HostFingerprint, hostFingerprint } from './fingerprint.ts';
import type { GuestKind } from './machine.ts';
import { type GuestChoice, planKvmRun } from './plan.ts';
import { probeKvm } from './probe.ts';
import { KvmWorker } from './supervisor.ts';
import type { WorkerRequest } from './worker.ts';

export interface KvmRunOptions {
  /** Wall-clock limit for the whole script, VM creation included. Default 30 s. */
  timeoutMs?: number;
  /** How long one op may make no progress (beyond its backing delays) before it counts as a hang.
   * Default 1000 ms. */
  hangMs?: number;
  /**
   * How long `run` waits after the last page-in for KVM's worker to queue the completion. Default
   * 100 ms: it takes well under a millisecond on an idle host (kvm-oracle §8), but tens of ms when
   * the machine is loaded, and the page-ready of a busy slot leaves no trace to wait for.
   */
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
const DEFAULT_SETTLE_MS = 100;

/** One script of a batch, with the options that may differ from script to script. */
export interface KvmBatchItem extends Omit<KvmRunOptions, 'env'> {
  script: Script;
}

export interface KvmBatchOptions {
  /** How many worker processes run scripts at once. Default 2 (or 1 on a single CPU). */
  parallel?: number;
  /** Environment for the probe (KVM_ORACLE, KVM_ORACLE_DEVICE). Default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Called as each result arrives (progress, early reporting). */
  onResult?(index: number, result: KvmRunResult): void;
}

export async function runScriptOnKvm(script: Script, opts: KvmRunOptions = {}): Promise<KvmRunResult> {
  const { env, ...item } = opts;
  const [r] = await runScriptsOnKvm([{ ...item, script }], { parallel: 1, env });
  return r!;
}

/**
 * Runs many scripts, each on a fresh VM, in `parallel` worker processes that each take the next
 * script when done with one (supervisor.ts). The results are in the order of `items`; one script's
 * hang or crash costs only that script (its worker is replaced).
 */
export async function runScriptsOnKvm(
  items: readonly KvmBatchItem[],
  opts: KvmBatchOptions = {},
): Promise<KvmRunResult[]> {
  const results: KvmRunResult[] = new Array(items.length);
  const done = (i: number, r: KvmRunResult) => {
    results[i] = r;
    opts.onResult?.(i, r);
  };
  const probe = await probeKvm(opts.env);
  if (!probe.ok) {
    for (let i = 0; i < items.length; i++) done(i, { status: 'unavailable', reason: probe.reason });
    return results;
  }
  let fingerprint = fingerprints.get(probe.device);
  if (!fingerprint) {
    fingerprint = hostFingerprint(probe.libc, probe.device);
    fingerprints.set(probe.device, fingerprint);
  }
  const fp = fingerprint;
  const queue: Array<{ index: number; request: WorkerRequest; item: KvmBatchItem; notes: string[] }> = [];
  for (const [index, item] of items.entries()) {
    const plan = planKvmRun(item.script, fp, item.guest);
    if (!plan.run) {
      done(index, { status: 'skipped', reason: plan.reason, fingerprint: fp });
      continue;
    }
    const request: WorkerRequest = {
      script: item.script,
      device: probe.device,
      guest: plan.guest,
      hangMs: item.hangMs ?? 1000,
      settleMs: item.settleMs ?? DEFAULT_SETTLE_MS,
    };
    queue.push({ index, request, item, notes: plan.notes });
  }
  const parallel = Math.max(1, Math.min(opts.parallel ?? defaultParallel(), queue.length));
  let next = 0;
  const lane = async () => {
    const worker = new KvmWorker();
    try {
      for (let q = queue[next++]; q; q = queue[next++]) {
        const started = performance.now();
        const out = await worker.run(q.request, q.item.timeoutMs ?? 30_000);
        if (out.status !== 'ok') {
          done(q.index, { ...out, fingerprint: fp });
          continue;
        }
        done(q.index, {
          status: 'ok',
          records: out.records,
          fingerprint: fp,
          guest: q.request.guest,
          notes: q.notes,
          elapsedMs: performance.now() - started,
          sessionMs: out.sessionMs,
        });
      }
    } finally {
      worker.close();
    }
  };
  await Promise.all(Array.from({ length: parallel }, lane));
  return results;
}

/** Two lanes keep both CPUs of a small CI machine busy (VM teardown sleeps ~14 ms in the kernel). */
function defaultParallel(): number {
  return Math.min(2, availableParallelism());
}

export { type Supervised, supervise } from './supervisor.ts';
