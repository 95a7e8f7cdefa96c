// An anonymous mmap(2) region: guest RAM, the guests' private memslot, or a kvm_run page. It owns the
// mapping and the one zero-copy view over it, and drops the view before munmap (kvm-oracle §6,
// pitfall 3: touching a view after munmap is a segfault).
import {
  type Libc,
  MADV_DONTNEED,
  MADV_NOHUGEPAGE,
  MAP_ANONYMOUS,
  MAP_NORESERVE,
  MAP_PRIVATE,
  MAP_SHARED,
  PROT_READ,
  PROT_WRITE,
} from './ffi.ts';

export const PAGE_SIZE = 4096;

export class HostMapping {
  #bytes: Uint8Array | null;
  #dv: DataView | null;

  private constructor(
    private readonly libc: Libc,
    /** Host virtual address of byte 0 (kvm_userspace_memory_region.userspace_addr). */
    readonly addr: bigint,
    readonly len: number,
    view: ArrayBuffer,
  ) {
    this.#bytes = new Uint8Array(view);
    this.#dv = new DataView(view);
  }

  /**
   * Guest RAM is MAP_PRIVATE: MADV_DONTNEED then really drops a page, so userfaultfd's MISSING mode can
   * make it "not present on the host" again. Transparent huge pages are turned off so that a fault,
   * a zap and a UFFDIO_COPY all concern exactly one 4 KiB page.
   */
  static anonymous(libc: Libc, len: number, opts: { shared: boolean }): HostMapping {
    const flags = MAP_ANONYMOUS | MAP_NORESERVE | (opts.shared ? MAP_SHARED : MAP_PRIVATE);
    const p = libc.mmap(len, PROT_READ | PROT_WRITE, flags, -1, 0);
    if (p === null) throw new Error(`mmap of ${len} bytes failed (errno ${libc.errno()})`);
    const m = new HostMapping(libc, libc.address(p), len, libc.view(p, len));
    if (!opts.shared) libc.madvise(m.addr, len, MADV_NOHUGEPAGE);
    return m;
  }

  /** A mapping of a file descriptor (the vCPU's kvm_run). */
  static ofFd(libc: Libc, fd: number, len: number): HostMapping {
    const p = libc.mmap(len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p === null) throw new Error(`mmap of fd ${fd} failed (errno ${libc.errno()})`);
    return new HostMapping(libc, libc.address(p), len, libc.view(p, len));
  }

  get bytes(): Uint8Array {
    if (!this.#bytes) throw new Error('HostMapping used after unmap');
    return this.#bytes;
  }

  get dv(): DataView {
    if (!this.#dv) throw new Error('HostMapping used after unmap');
    return this.#dv;
  }

  /** Whether the page holding `offset` is resident (mincore). Reading a missing page that is
   * registered with userfaultfd would block this thread on its own fault server. */
  isResident(offset: number): boolean {
    const page = offset - (offset % PAGE_SIZE);
    const vec = Buffer.alloc(1);
    if (this.libc.mincore(this.addr + BigInt(page), PAGE_SIZE, vec) !== 0) return false;
    return (vec[0]! & 1) === 1;
  }

  /** Drops the page at `offset` (page-aligned): the next access faults it in again. */
  dropPage(offset: number): void {
    if (this.libc.madvise(this.addr + BigInt(offset), PAGE_SIZE, MADV_DONTNEED) !== 0)
      throw new Error(`madvise(DONTNEED) failed (errno ${this.libc.errno()})`);
  }

  unmap(): void {
    if (!this.#bytes) return;
    this.#bytes = null;
    this.#dv = null;
    this.libc.munmap(this.addr, this.len);
  }
}
