// `touch { backing: { delay } }` on the host: the page is taken away from guest RAM, and when someone
// (KVM's async worker, or the vCPU thread for a synchronous fault) faults on it, it is put back with
// its old contents once the delay, counted from the touch, has passed. Faults are served on the JS thread through a libuv poll handle,
// which is why KVM_RUN must run off that thread (kvm-oracle §6, pitfall 2).
import type { Libc } from './ffi.ts';
import { HostMapping, PAGE_SIZE } from './host_mapping.ts';
import { Userfaultfd } from './uffd.ts';

interface ArmedPage {
  delayMs: number;
  contents: Uint8Array;
  /** Set when the fault arrived and the copy is scheduled. */
  scheduled: boolean;
  /** Nobody will fault on it any more: its async work was cancelled before it started. */
  abandoned: boolean;
  /** performance.now() at arming, which is when the touch op starts. */
  armedAt: number;
}

export class DelayedBacking {
  private uffd: Userfaultfd | null = null;
  private poll: { close(): void } | null = null;
  private source: HostMapping | null = null;
  private readonly registered = new Set<number>();
  private readonly armed = new Map<number, ArmedPage>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private lastCopyAt = Number.NEGATIVE_INFINITY;
  /** The first fault-serving error, reported by the session at its next step. */
  error: Error | null = null;
  /** Told of every MISSING fault message, with the page's RAM offset (scripts with mmu_notifiers). */
  onMissing: ((page: number) => void) | null = null;

  constructor(
    private readonly libc: Libc,
    private readonly ram: HostMapping,
  ) {}

  /**
   * Makes the page holding RAM offset `offset` missing until `delayMs` after its next fault. A resident
   * page is saved and dropped first, so the guest later reads what it wrote before.
   */
  arm(offset: number, delayMs: number): void {
    const page = offset - (offset % PAGE_SIZE);
    this.start();
    if (!this.registered.has(page)) {
      this.uffd!.register(this.ram.addr + BigInt(page), PAGE_SIZE);
      this.registered.add(page);
    }
    const contents = this.ram.isResident(page)
      ? this.ram.bytes.slice(page, page + PAGE_SIZE)
      : (this.armed.get(page)?.contents ?? new Uint8Array(PAGE_SIZE));
    if (this.ram.isResident(page)) this.ram.dropPage(page);
    this.armed.set(page, {
      delayMs,
      contents,
      scheduled: false,
      abandoned: false,
      armedAt: performance.now(),
    });
  }

  /**
   * Registers the pages of [offset, offset + len) (page-aligned) that are not registered yet, without
   * arming them: a fault on one of them is served at once with a zero page (host_dontneed).
   */
  register(offset: number, len: number): void {
    this.start();
    for (let page = offset; page < offset + len; page += PAGE_SIZE) {
      if (this.registered.has(page)) continue;
      this.uffd!.register(this.ram.addr + BigInt(page), PAGE_SIZE);
      this.registered.add(page);
    }
  }

  /** The longest delay among pages still missing (for the watchdog budget). */
  maxOutstandingDelayMs(): number {
    return Math.max(0, ...[...this.armed.values()].map((p) => p.delayMs));
  }

  /**
   * Every armed page has been faulted and filled, and the last fill is at least `settleMs` old: KVM's
   * worker has had time to complete and queue the page-ready. A page armed but not faulted yet counts
   * as pending (with `retry: false` the fault comes from KVM's worker, after the op has ended), unless
   * its work was cancelled.
   */
  quiescent(settleMs: number): boolean {
    for (const p of this.armed.values()) if (!p.abandoned) return false;
    return performance.now() - this.lastCopyAt >= settleMs;
  }

  /**
   * Called when the guest or the host disabled APF (an accepted EN write without both ENABLED and
   * DELIVERY_AS_INT): KVM empties the queue with cancel_work_sync (x86-apf §8 case 14), which cancels
   * the works that have not started and waits for the others, so once the write has returned every
   * page still not faulted belongs to a cancelled work and nothing will fault on it. `run` must not
   * wait for those; a later touch of the page faults on it as usual.
   */
  abandonUnfaulted(): void {
    for (const p of this.armed.values()) if (!p.scheduled) p.abandoned = true;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.poll?.close();
    this.uffd?.close();
    this.source?.unmap();
    this.poll = this.uffd = this.source = null;
  }

  private start(): void {
    if (this.uffd) return;
    this.uffd = Userfaultfd.open(this.libc);
    this.source = HostMapping.anonymous(this.libc, PAGE_SIZE, { shared: false });
    this.poll = this.libc.pollReadable(this.uffd.fd, () => this.onReadable());
  }

  private onReadable(): void {
    try {
      for (const f of this.uffd!.readFaults()) {
        const off = Number(f.address - this.ram.addr);
        const page = off - (off % PAGE_SIZE);
        this.onMissing?.(page);
        const p = this.armed.get(page);
        if (p?.scheduled) continue; // a second thread faulting on the same page
        if (!p) {
          this.fill(page, new Uint8Array(PAGE_SIZE)); // registered earlier, not armed now
          continue;
        }
        p.scheduled = true;
        p.abandoned = false;
        // The delay counts from the touch, not from the fault: the model's worker starts at the fault
        // of the touch op itself, while KVM's kworker may be scheduled tens of ms later on a loaded
        // machine, which would reorder completions the delays were meant to order.
        const t = setTimeout(
          () => {
            this.timers.delete(t);
            this.fill(page, p.contents);
            this.armed.delete(page);
          },
          Math.max(0, p.armedAt + p.delayMs - performance.now()),
        );
        this.timers.add(t);
      }
    } catch (e) {
      this.error ??= e as Error;
    }
  }

  private fill(page: number, contents: Uint8Array): void {
    try {
      this.source!.bytes.set(contents);
      this.uffd!.copy(this.ram.addr + BigInt(page), this.source!.addr, PAGE_SIZE);
      this.lastCopyAt = performance.now();
    } catch (e) {
      this.error ??= e as Error;
    }
  }
}
