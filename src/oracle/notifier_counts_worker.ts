// The child process of notifier_counts.ts: runs the mmu §G recipe once and exits. argv[2] is the KVM
// device; argv[3] = hang-after-ksm-merge makes it stop there for good (for the watchdog test). It
// tells the parent where tracefs is and which instance it will create *before* creating them, so that
// the parent can clean up if this process is killed; the KSM knobs the parent has snapshotted itself.
// Every resource is released in a finally-block here as well.
import { mkdirSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Libc, loadLibc, MADV_DONTNEED, MADV_MERGEABLE, PROT_READ, PROT_WRITE } from './ffi.ts';
import { HostMapping, PAGE_SIZE } from './host_mapping.ts';
import {
  countWindows,
  type GOp,
  type GWorkerMessage,
  INSTANCE_PREFIX,
  kvmsimInstances,
  MARKER,
  type NotifierCountsOk,
  parseTrace,
  readKsmCounter,
  readKsmSettings,
  restoreKsmSettings,
  tracefsMounts,
  writeKsm,
} from './notifier_counts.ts';
import { Kvm } from './vm.ts';

const SLOT_PAGES = 64;
const SAME_PAGES = 32; // pages 0..31 hold the same byte, 32..63 are unique
const COW_PAGE = 5;
const DONTNEED_FIRST = 40;
const DONTNEED_PAGES = 8;
const MPROTECT_FIRST = 52;
const MPROTECT_PAGES = 4;
const OUTSIDE_PAGES = 4;
const FULL_SCANS = 4;
const KSM_LIMIT_MS = 20_000;

function send(m: GWorkerMessage): Promise<void> {
  return new Promise((resolve) => process.send!(m, undefined, undefined, () => resolve()));
}

class Skip extends Error {}

/** A tracefs mount (ours or one that was there) and the private instance of this run. */
class Tracefs {
  private constructor(
    private readonly libc: Libc,
    readonly root: string,
    private readonly mountedByUs: boolean,
  ) {}

  static async open(libc: Libc): Promise<Tracefs> {
    const existing = tracefsMounts()[0];
    if (existing) {
      await send({ type: 'tracefs', root: existing, mountedByUs: false });
      return new Tracefs(libc, existing, false);
    }
    const dir = mkdtempSync(join(tmpdir(), 'kvmsim-tracefs-'));
    await send({ type: 'tracefs', root: dir, mountedByUs: true });
    if (libc.mount('nodev', dir, 'tracefs', 0) !== 0) {
      const errno = libc.errno();
      rmdirSync(dir);
      throw new Skip(`tracefs cannot be mounted (errno ${errno})`);
    }
    return new Tracefs(libc, dir, true);
  }

  hasEvent(system: string, event: string): boolean {
    try {
      readFileSync(join(this.root, 'events', system, event, 'format'));
      return true;
    } catch {
      return false;
    }
  }

  close(): void {
    if (!this.mountedByUs) return;
    if (this.libc.umount2(this.root, 0) !== 0) this.libc.umount2(this.root, 2 /* MNT_DETACH */);
    rmdirSync(this.root);
  }
}

async function main(): Promise<GWorkerMessage> {
  const device = process.argv[2] ?? '/dev/kvm';
  const libc = await loadLibc();
  if ('error' in libc) return { type: 'skip', reason: libc.error };
  const tf = await Tracefs.open(libc);
  try {
    if (!tf.hasEvent('kvm', 'kvm_unmap_hva_range'))
      return { type: 'skip', reason: 'this kernel has no kvm:kvm_unmap_hva_range tracepoint' };
    const ksmEvents = ['ksm_merge_one_page', 'ksm_merge_with_ksm_page'].filter((e) => tf.hasEvent('ksm', e));
    const name = `${INSTANCE_PREFIX}${process.pid}-${Math.random().toString(16).slice(2, 8)}`;
    const inst = join(tf.root, 'instances', name);
    await send({ type: 'instance', path: inst });
    mkdirSync(inst); // tracefs creates an instance on mkdir(2)
    let result: Omit<NotifierCountsOk, 'cleanup' | 'status'>;
    try {
      writeFileSync(join(inst, 'events', 'kvm', 'kvm_unmap_hva_range', 'enable'), '1');
      for (const e of ksmEvents) writeFileSync(join(inst, 'events', 'ksm', e, 'enable'), '1');
      result = await recipe(libc, device, inst);
    } finally {
      rmdirSync(inst);
    }
    return {
      type: 'result',
      result: { status: 'ok', ...result, leftoverInstances: kvmsimInstances(tf.root) },
    };
  } finally {
    tf.close();
  }
}

async function recipe(
  libc: Libc,
  device: string,
  inst: string,
): Promise<Omit<NotifierCountsOk, 'cleanup' | 'status'>> {
  const mark = (label: GOp | 'setup' | 'end') =>
    writeFileSync(join(inst, 'trace_marker'), `${MARKER} ${label}\n`);
  const kvm = Kvm.open(libc, device);
  try {
    const vm = kvm.createVm();
    try {
      const slot = HostMapping.anonymous(libc, SLOT_PAGES * PAGE_SIZE, { shared: false });
      try {
        const outside = HostMapping.anonymous(libc, OUTSIDE_PAGES * PAGE_SIZE, { shared: false });
        const outsideRange = { start: outside.addr, end: outside.addr + BigInt(outside.len) };
        try {
          fill(slot.bytes, outside.bytes);
          vm.setUserMemoryRegion(0, 0, slot.len, slot.addr);
          const page = (i: number) => slot.addr + BigInt(i * PAGE_SIZE);
          mark('setup');

          // (a) KSM merges the 32 identical pages.
          mark('ksm_merge');
          const saved = readKsmSettings();
          let ksm: NotifierCountsOk['ksm'];
          try {
            if (libc.madvise(slot.addr, slot.len, MADV_MERGEABLE) !== 0)
              throw new Skip(`madvise(MADV_MERGEABLE) failed (errno ${libc.errno()}): no KSM`);
            writeKsm('sleep_millisecs', 0);
            writeKsm('pages_to_scan', 5000);
            const scans = readKsmCounter('full_scans');
            writeKsm('run', 1);
            const deadline = performance.now() + KSM_LIMIT_MS;
            while (readKsmCounter('full_scans') < scans + FULL_SCANS) {
              if (performance.now() > deadline)
                throw new Error(`KSM did not complete ${FULL_SCANS} full scans within ${KSM_LIMIT_MS} ms`);
              await sleep(5);
            }
            writeKsm('run', 0);
            ksm = {
              pagesShared: readKsmCounter('pages_shared'),
              pagesSharing: readKsmCounter('pages_sharing'),
              fullScans: readKsmCounter('full_scans') - scans,
              events: {},
            };
            if (process.argv[3] === 'hang-after-ksm-merge')
              await new Promise(() => setInterval(() => {}, 1000));
            restoreKsmSettings(saved);

            // (b) A host write to a merged page breaks COW.
            mark('cow_break');
            slot.bytes[COW_PAGE * PAGE_SIZE] = 0xa5;

            // (c) MADV_DONTNEED on 8 pages.
            mark('dontneed');
            if (libc.madvise(page(DONTNEED_FIRST), DONTNEED_PAGES * PAGE_SIZE, MADV_DONTNEED) !== 0)
              throw new Error(`madvise(MADV_DONTNEED) failed (errno ${libc.errno()})`);

            // (d) mprotect read-only, then read-write again, on 4 pages.
            mark('mprotect');
            const len = MPROTECT_PAGES * PAGE_SIZE;
            if (libc.mprotect(page(MPROTECT_FIRST), len, PROT_READ) !== 0)
              throw new Error(`mprotect(PROT_READ) failed (errno ${libc.errno()})`);
            if (libc.mprotect(page(MPROTECT_FIRST), len, PROT_READ | PROT_WRITE) !== 0)
              throw new Error(`mprotect(PROT_READ|PROT_WRITE) failed (errno ${libc.errno()})`);

            // (e) munmap of a mapping outside every memslot.
            mark('munmap_outside');
            outside.unmap();
            mark('end');
          } finally {
            // Unmerge what is left (run=2 then run=0), then every knob exactly as it was.
            writeKsm('run', 2);
            writeKsm('run', 0);
            restoreKsmSettings(saved);
          }
          writeFileSync(join(inst, 'tracing_on'), '0');
          const lines = parseTrace(readFileSync(join(inst, 'trace'), 'utf8'));
          const slotRange = { start: slot.addr, end: slot.addr + BigInt(slot.len) };
          const w = countWindows(lines, process.pid, [slotRange, outsideRange]);
          ksm.events = w.other.ksm_merge;
          return { counts: w.counts, pages: w.pages, kernel: release(), ksm, foreign: w.foreign };
        } finally {
          outside.unmap();
        }
      } finally {
        slot.unmap();
      }
    } finally {
      vm.close();
    }
  } finally {
    kvm.close();
  }
}

/** Pages 0..31: all 0x5a. Pages 32..63: each different (its index in every 8-byte word, and a pattern). */
function fill(slot: Uint8Array, outside: Uint8Array): void {
  slot.fill(0x5a, 0, SAME_PAGES * PAGE_SIZE);
  for (let p = SAME_PAGES; p < SLOT_PAGES; p++)
    for (let i = 0; i < PAGE_SIZE; i++) slot[p * PAGE_SIZE + i] = i % 8 === 0 ? p : (p * 31 + i) & 0xff;
  outside.fill(0x11);
}

main()
  .catch((e: unknown) =>
    e instanceof Skip
      ? ({ type: 'skip', reason: e.message } as const)
      : ({ type: 'error', message: (e as Error).stack ?? String(e) } as const),
  )
  .then(async (m) => {
    await send(m);
    process.disconnect();
  });
