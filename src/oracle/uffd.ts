// A userfaultfd(2) in MISSING mode: the way the backend makes a guest page "not present on the host"
// for as long as a script's `backing.delay` says (kvm-oracle §5.1). KVM's non-blocking GUP fails on a
// missing page in a registered range, so a CPL3 access with APF enabled goes async; the worker's
// blocking GUP then waits here until UFFDIO_COPY fills the page.
import {
  NR_userfaultfd,
  UFFD_API,
  UFFD_EVENT_PAGEFAULT,
  UFFD_FEATURE_THREAD_ID,
  UFFDIO_API,
  UFFDIO_COPY,
  UFFDIO_REGISTER,
  UFFDIO_REGISTER_MODE_MISSING,
  uffd_msg,
  uffdio_api,
  uffdio_copy,
  uffdio_register,
} from '../abi/uffd.ts';
import { type Libc, O_CLOEXEC, O_NONBLOCK } from './ffi.ts';

const EEXIST = 17;

export interface UffdFault {
  address: bigint;
  write: boolean;
  /** The faulting thread: KVM's async worker, or the vCPU thread for a synchronous fault. */
  tid: number;
}

export class Userfaultfd {
  private constructor(
    private readonly libc: Libc,
    readonly fd: number,
  ) {}

  static open(libc: Libc): Userfaultfd {
    const fd = libc.syscall1(NR_userfaultfd, O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) throw new Error(`userfaultfd() failed (errno ${libc.errno()})`);
    const api = Buffer.alloc(uffdio_api.size);
    api.writeBigUInt64LE(BigInt(UFFD_API), uffdio_api.api);
    api.writeBigUInt64LE(BigInt(UFFD_FEATURE_THREAD_ID), uffdio_api.features);
    if (libc.ioctlPtr(fd, UFFDIO_API, api) !== 0) {
      const errno = libc.errno();
      libc.close(fd);
      throw new Error(`UFFDIO_API failed (errno ${errno})`);
    }
    return new Userfaultfd(libc, fd);
  }

  /** Registers [addr, addr + len) for missing-page faults (page-aligned). */
  register(addr: bigint, len: number): void {
    const b = Buffer.alloc(uffdio_register.size);
    b.writeBigUInt64LE(addr, uffdio_register.start);
    b.writeBigUInt64LE(BigInt(len), uffdio_register.len);
    b.writeBigUInt64LE(BigInt(UFFDIO_REGISTER_MODE_MISSING), uffdio_register.mode);
    if (this.libc.ioctlPtr(this.fd, UFFDIO_REGISTER, b) !== 0)
      throw new Error(`UFFDIO_REGISTER failed (errno ${this.libc.errno()})`);
  }

  /**
   * Fills the missing page at `dst` with `len` bytes from `src` and wakes the faulting threads. A page
   * that is already there (EEXIST: a second fault message for a page already filled) is not an error.
   */
  copy(dst: bigint, src: bigint, len: number): void {
    const b = Buffer.alloc(uffdio_copy.size);
    b.writeBigUInt64LE(dst, uffdio_copy.dst);
    b.writeBigUInt64LE(src, uffdio_copy.src);
    b.writeBigUInt64LE(BigInt(len), uffdio_copy.len);
    if (this.libc.ioctlPtr(this.fd, UFFDIO_COPY, b) !== 0) {
      const errno = this.libc.errno();
      if (errno !== EEXIST) throw new Error(`UFFDIO_COPY failed (errno ${errno})`);
    }
  }

  /** Reads every queued page-fault message (the fd is non-blocking). */
  readFaults(): UffdFault[] {
    const out: UffdFault[] = [];
    const msg = Buffer.alloc(uffd_msg.size);
    while (this.libc.read(this.fd, msg, uffd_msg.size) === uffd_msg.size) {
      if (msg[uffd_msg.event] !== UFFD_EVENT_PAGEFAULT) continue;
      out.push({
        address: msg.readBigUInt64LE(uffd_msg.address),
        write: (msg.readBigUInt64LE(uffd_msg.flags) & 1n) === 1n,
        tid: msg.readUInt32LE(uffd_msg.ptid),
      });
    }
    return out;
  }

  close(): void {
    this.libc.close(this.fd);
  }
}
