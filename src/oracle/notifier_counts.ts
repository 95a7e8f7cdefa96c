// How many MMU-notifier invalidations the real kernel raises for each host memory operation on memslot
// memory (mmu §G, B.4.2): the §G recipe, run on this machine's /dev/kvm and counted with the
// kvm:kvm_unmap_hva_range tracepoint. It is a live oracle for the model's primary-MMU generators.
//
// The recipe changes host-wide state: the KSM knobs in /sys/kernel/mm/ksm, a tracefs instance, and
// possibly a tracefs mount. It runs in a child process (notifier_counts_worker.ts) under a watchdog, and
// this side (the parent) owns the restore: it snapshots the KSM knobs before the child starts, learns
// from the child where tracefs is and which instance it creates before either exists, and after the
// child has gone (finished, crashed or killed) puts back whatever is not as it was. The child restores
// everything itself in finally-blocks too; the parent's pass is then a no-op.
import { type ChildProcess, fork } from 'node:child_process';
import {
  accessSync,
  constants,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Libc, loadLibc } from './ffi.ts';
import { kvmDevice, oracleMode } from './probe.ts';

/** The §G host operations, in the recipe's order. */
export const G_OPS = ['ksm_merge', 'cow_break', 'dontneed', 'mprotect', 'munmap_outside'] as const;
export type GOp = (typeof G_OPS)[number];
export type GCounts = Record<GOp, number>;

export interface NotifierCountsOk {
  status: 'ok';
  /** kvm_unmap_hva_range events per operation (those of this process or ksmd that touch its ranges). */
  counts: GCounts;
  /** The page count of each of those events, in trace order. */
  pages: Record<GOp, number[]>;
  /** uname -r */
  kernel: string;
  /** KSM's counters right after the merge (before the COW break), and the ksm:* events it raised. */
  ksm: {
    pagesShared: number;
    pagesSharing: number;
    /** Full scans KSM completed while it ran (the recipe waits for at least 4; it polls, so more). */
    fullScans: number;
    events: Record<string, number>;
  };
  /** kvm_unmap_hva_range events in each window that were not counted (other tasks, other ranges). */
  foreign: GCounts;
  cleanup: {
    /** kvmsim-* tracefs instances still present after the child removed its own (should be none). */
    leftoverInstances: string[];
    /** What the parent had to restore after the child (should be nothing). */
    restoredByParent: string[];
  };
}

export type NotifierCountsResult = NotifierCountsOk | { status: 'skip'; reason: string };

/** Messages from the child. */
export type GWorkerMessage =
  | { type: 'tracefs'; root: string; mountedByUs: boolean }
  | { type: 'instance'; path: string }
  | { type: 'skip'; reason: string }
  | { type: 'result'; result: Omit<NotifierCountsOk, 'cleanup'> & { leftoverInstances: string[] } }
  | { type: 'error'; message: string };

// ---------------------------------------------------------------------------------------------------
// KSM knobs

export const KSM_DIR = '/sys/kernel/mm/ksm';

/** The writable KSM files (the settings) and their values. Counters are read-only and not included. */
export function readKsmSettings(dir = KSM_DIR): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    if ((statSync(path).mode & 0o200) === 0) continue;
    out[name] = readFileSync(path, 'utf8').trim();
  }
  return out;
}

export function readKsmCounter(name: string, dir = KSM_DIR): number {
  return Number(readFileSync(join(dir, name), 'utf8').trim());
}

export function writeKsm(name: string, value: string | number, dir = KSM_DIR): void {
  writeFileSync(join(dir, name), String(value));
}

/** A value as read back written again: a choice file reads "[none] scan-time" and takes "none". */
function writable(value: string): string {
  return /\[(\S+)\]/.exec(value)?.[1] ?? value;
}

/**
 * Puts every KSM setting back to `saved`: `run` stops first (when it differs), the others follow, and
 * `run` gets its old value last. Returns the names that had to be written.
 */
export function restoreKsmSettings(saved: Record<string, string>, dir = KSM_DIR): string[] {
  const now = readKsmSettings(dir);
  const changed = Object.keys(saved).filter((k) => now[k] !== saved[k]);
  if (changed.length === 0) return [];
  if (changed.includes('run') && now.run !== '0') writeKsm('run', 0, dir);
  for (const k of changed) if (k !== 'run') writeKsm(k, writable(saved[k]!), dir);
  if (changed.includes('run') && saved.run !== '0') writeKsm('run', writable(saved.run!), dir);
  return changed;
}

/** Pages KSM currently has merged, host-wide (the stable pages and the mappings that share them). */
export function ksmMerged(dir = KSM_DIR): number {
  return readKsmCounter('pages_shared', dir) + readKsmCounter('pages_sharing', dir);
}

/** Unmerges every KSM page (run=2, which KSM does synchronously in the write), then stops KSM. */
export function ksmUnmergeAll(dir = KSM_DIR): void {
  writeKsm('run', 2, dir);
  writeKsm('run', 0, dir);
}

// ---------------------------------------------------------------------------------------------------
// tracefs

/** Mount points of tracefs in this mount namespace (including the debugfs automount, if mounted). */
export function tracefsMounts(): string[] {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'tracefs')
    .map((f) => f[1]!.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(Number.parseInt(o, 8))));
}

export const INSTANCE_PREFIX = 'kvmsim-';
/**
 * The instances this worker makes: `kvmsim-<pid>-<hex>`. Others with the kvmsim- prefix (the live ftrace
 * test's `kvmsim-ftrace-<pid>`, which may run at the same time) are another test's to clean up.
 */
const INSTANCE_RE = /^kvmsim-\d+-[0-9a-f]+$/;

export function kvmsimInstances(root: string): string[] {
  try {
    return readdirSync(join(root, 'instances')).filter((n) => INSTANCE_RE.test(n));
  } catch {
    return [];
  }
}

/**
 * The kvmsim-* instances left in tracefs. Mounts tracefs into a fresh temp dir for the look when it is
 * not mounted, and unmounts it again.
 */
export function tracefsLeftovers(libc: Libc): string[] {
  const mounted = tracefsMounts();
  if (mounted.length > 0) return kvmsimInstances(mounted[0]!);
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-tracefs-'));
  try {
    if (libc.mount('nodev', dir, 'tracefs', 0) !== 0)
      throw new Error(`mount -t tracefs failed (errno ${libc.errno()})`);
    try {
      return kvmsimInstances(dir);
    } finally {
      libc.umount2(dir, 0);
    }
  } finally {
    rmdirSync(dir);
  }
}

// ---------------------------------------------------------------------------------------------------
// The trace

/** The label written to trace_marker before each operation; `end` closes the last window. */
export const MARKER = 'kvmsim-g:';

export interface TraceLine {
  comm: string;
  pid: number;
  event: string;
  text: string;
}

const LINE = /^\s*(.*)-(\d+)\s+(?:\(\s*[-\d]+\)\s+)?\[\d+\]\s+(?:\S+\s+)?\d+\.\d+:\s+(\w+):\s?(.*)$/;

export function parseTrace(text: string): TraceLine[] {
  const out: TraceLine[] = [];
  for (const l of text.split('\n')) {
    if (l.startsWith('#')) continue;
    const m = LINE.exec(l);
    if (m) out.push({ comm: m[1]!.trim(), pid: Number(m[2]), event: m[3]!, text: m[4]! });
  }
  return out;
}

export interface HvaRange {
  start: bigint;
  end: bigint;
}

export interface Windows {
  counts: GCounts;
  pages: Record<GOp, number[]>;
  foreign: GCounts;
  /** Every other event (ksm:*) per window, by name. */
  other: Record<GOp, Record<string, number>>;
}

const UNMAP = /unmap range:\s*(0x[0-9a-f]+)\s*--\s*(0x[0-9a-f]+)/i;

/**
 * Splits the trace at the `kvmsim-g: <op>` markers and counts, per window, the kvm_unmap_hva_range
 * events raised by `pid` or by ksmd that overlap one of `ranges`; everything else is `foreign`.
 */
export function countWindows(lines: readonly TraceLine[], pid: number, ranges: readonly HvaRange[]): Windows {
  const zero = () => Object.fromEntries(G_OPS.map((op) => [op, 0])) as GCounts;
  const w: Windows = {
    counts: zero(),
    pages: Object.fromEntries(G_OPS.map((op) => [op, []])) as unknown as Record<GOp, number[]>,
    foreign: zero(),
    other: Object.fromEntries(G_OPS.map((op) => [op, {}])) as Record<GOp, Record<string, number>>,
  };
  let current: GOp | null = null;
  for (const l of lines) {
    if (l.event === 'tracing_mark_write') {
      const at = l.text.indexOf(MARKER);
      if (at < 0) continue;
      const label = l.text.slice(at + MARKER.length).trim();
      current = (G_OPS as readonly string[]).includes(label) ? (label as GOp) : null;
      continue;
    }
    if (!current) continue;
    if (l.event !== 'kvm_unmap_hva_range') {
      w.other[current][l.event] = (w.other[current][l.event] ?? 0) + 1;
      continue;
    }
    const m = UNMAP.exec(l.text);
    if (!m) throw new Error(`kvm_unmap_hva_range in an unexpected format: ${l.text}`);
    const start = BigInt(m[1]!);
    const end = BigInt(m[2]!);
    const ours = l.pid === pid || l.comm === 'ksmd';
    if (ours && ranges.some((r) => start < r.end && r.start < end)) {
      w.counts[current]++;
      w.pages[current].push(Number((end - start) / 4096n));
    } else w.foreign[current]++;
  }
  return w;
}

// ---------------------------------------------------------------------------------------------------
// The parent

export interface MeasureOptions {
  /** The watchdog: the child is killed after this long (default 60 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * For the watchdog test: the child stops forever right after the merge, with the pages merged, the
   * recipe's KSM knobs still set and its tracefs instance in place; the watchdog kills it and the
   * parent has to restore all of it.
   */
  hangAfterKsmMerge?: boolean;
}

const workerPath = fileURLToPath(new URL('./notifier_counts_worker.ts', import.meta.url));
const lockPath = join(tmpdir(), 'kvmsim-notifier-counts.lock');

/** Why the recipe cannot run here, or null. The child checks the rest (tracefs and its events). */
async function precondition(env: NodeJS.ProcessEnv): Promise<string | null> {
  if (oracleMode(env) === 'off') return 'KVM_ORACLE=off';
  if (process.platform !== 'linux') return `needs Linux, this is ${process.platform}`;
  if (process.getuid?.() !== 0) return 'needs root (KSM knobs, tracefs)';
  const device = kvmDevice(env);
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (e) {
    return `${device} is not accessible for reading and writing (${(e as NodeJS.ErrnoException).code})`;
  }
  const libc = await loadLibc();
  if ('error' in libc) return libc.error;
  if (!existsSync(join(KSM_DIR, 'run'))) return `KSM is not available (no ${KSM_DIR}/run)`;
  if (!existsSync('/sys/kernel/tracing') && !readFileSync('/proc/filesystems', 'utf8').includes('tracefs'))
    return 'tracefs is not available';
  return null;
}

/** One measurement at a time per machine: KSM and its knobs are host-wide. */
function takeLock(): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(lockPath, String(process.pid), { flag: 'wx' });
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(readFileSync(lockPath, 'utf8'));
      try {
        process.kill(holder, 0);
        return false; // held by a live process
      } catch {
        unlinkSync(lockPath); // stale
      }
    }
  }
  return false;
}

/** Runs the §G recipe in a child process and returns its counts, or why it was skipped. */
export async function measureNotifierCounts(opts: MeasureOptions = {}): Promise<NotifierCountsResult> {
  const env = opts.env ?? process.env;
  const why = await precondition(env);
  if (why) return { status: 'skip', reason: why };
  if (!takeLock()) return { status: 'skip', reason: 'another notifier-count measurement is running' };
  try {
    const saved = readKsmSettings();
    if (saved.run !== '0' || ksmMerged() !== 0)
      return {
        status: 'skip',
        reason: `KSM is in use on this host (run=${saved.run}, ${ksmMerged()} pages merged); the recipe would unmerge them`,
      };
    const libc = (await loadLibc()) as Libc;
    const seen: { tracefs?: { root: string; mountedByUs: boolean }; instance?: string } = {};
    let outcome: { message?: GWorkerMessage; died?: string } = {};
    let restoredByParent: string[] = [];
    try {
      const args = [kvmDevice(env), ...(opts.hangAfterKsmMerge ? ['hang-after-ksm-merge'] : [])];
      outcome = await runChild(args, opts.timeoutMs ?? 60_000, seen);
    } finally {
      restoredByParent = cleanUpAfter(libc, saved, seen);
    }
    const m = outcome.message;
    if (!m)
      throw new Error(
        `notifier-count worker ${outcome.died}; the parent restored: ${restoredByParent.join(', ') || 'nothing'}`,
      );
    if (m.type === 'skip') return { status: 'skip', reason: m.reason };
    if (m.type === 'error') throw new Error(`notifier-count worker: ${m.message}`);
    if (m.type !== 'result') throw new Error(`notifier-count worker: unexpected message ${m.type}`);
    const { leftoverInstances, ...r } = m.result;
    return { ...r, cleanup: { leftoverInstances, restoredByParent } };
  } finally {
    unlinkSync(lockPath);
  }
}

function runChild(
  args: string[],
  timeoutMs: number,
  seen: { tracefs?: { root: string; mountedByUs: boolean }; instance?: string },
): Promise<{ message?: GWorkerMessage; died?: string }> {
  return new Promise((resolve) => {
    let final: GWorkerMessage | undefined;
    let stderr = '';
    const child: ChildProcess = fork(workerPath, args, {
      execArgv: ['--import', import.meta.resolve('tsx')],
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.stderr!.on('data', (d: Buffer) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    child.on('message', (m: GWorkerMessage) => {
      if (m.type === 'tracefs') seen.tracefs = { root: m.root, mountedByUs: m.mountedByUs };
      else if (m.type === 'instance') seen.instance = m.path;
      else final = m;
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) resolve({ died: `killed by the watchdog after ${timeoutMs} ms` });
      else if (final) resolve({ message: final });
      else {
        const tail = stderr.trim().split('\n').slice(-3).join(' | ');
        resolve({
          died: `died (${signal ? `signal ${signal}` : `exit code ${code}`})${tail ? `: ${tail}` : ''}`,
        });
      }
    });
  });
}

/**
 * After the child: removes its tracefs instance and mount if they are still there, unmerges what KSM
 * still holds (it held nothing before) and restores the KSM knobs. Returns what had to be done.
 */
function cleanUpAfter(
  libc: Libc,
  saved: Record<string, string>,
  seen: { tracefs?: { root: string; mountedByUs: boolean }; instance?: string },
): string[] {
  const done: string[] = [];
  const tf = seen.tracefs;
  const mounted = tf ? tracefsMounts().includes(tf.root) : false;
  if (seen.instance && mounted && existsSync(seen.instance)) {
    rmdirSync(seen.instance);
    done.push('tracefs instance');
  }
  if (tf?.mountedByUs) {
    if (mounted) {
      if (libc.umount2(tf.root, 0) !== 0) libc.umount2(tf.root, 2 /* MNT_DETACH */);
      done.push('tracefs mount');
    }
    if (existsSync(tf.root)) rmdirSync(tf.root);
  }
  if (ksmMerged() !== 0) {
    ksmUnmergeAll();
    done.push('KSM unmerge');
  }
  done.push(...restoreKsmSettings(saved).map((k) => `KSM ${k}`));
  return done;
}
