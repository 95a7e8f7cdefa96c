// A small object layer over the KVM file descriptors, after rust-vmm kvm-ioctls: Kvm (/dev/kvm) →
// VmFd (KVM_CREATE_VM) → VcpuFd (KVM_CREATE_VCPU). Methods are named after their ioctl
// (KVM_SET_MSRS → setMsrs); failures throw KvmError carrying the ioctl name and errno, the kernel's
// own vocabulary. See the KVM API documentation of each ioctl for its semantics.
import * as K from '../abi/kvm.ts';
import { type Libc, O_CLOEXEC, O_RDWR } from './ffi.ts';
import { HostMapping } from './host_mapping.ts';
import {
  allocCpuid2,
  type CpuidEntry,
  decodeCpuid2,
  decodeMsrData,
  decodeRegs,
  encodeCpuid2,
  encodeEnableCap,
  encodeMemoryRegion,
  encodeMsrs,
  encodeRegs,
  type MsrEntry,
  type Regs,
  Sregs,
} from './kvm_structs.ts';

export class KvmError extends Error {
  constructor(
    readonly ioctl: string,
    readonly errno: number,
  ) {
    super(`${ioctl} failed (errno ${errno})`);
    this.name = 'KvmError';
  }
}

/** The typed form of kvm_run.exit_reason and its payload (kvm-ioctls VcpuExit). */
export type VcpuExit =
  | { reason: 'mmio'; physAddr: bigint; isWrite: boolean; len: number; data: bigint }
  | { reason: 'io'; out: boolean; port: number; size: number }
  | { reason: 'hlt' }
  | { reason: 'shutdown' }
  | { reason: 'fail_entry'; hardwareReason: bigint }
  | { reason: 'internal_error'; suberror: number }
  | { reason: 'intr' }
  | { reason: 'other'; code: number };

function check(libc: Libc, ioctl: string, r: number): number {
  if (r < 0) throw new KvmError(ioctl, libc.errno());
  return r;
}

export class Kvm {
  private constructor(
    readonly libc: Libc,
    readonly fd: number,
  ) {}

  /** Opens the KVM device (normally /dev/kvm). */
  static open(libc: Libc, path: string): Kvm {
    const fd = libc.open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) throw new KvmError(`open(${path})`, libc.errno());
    return new Kvm(libc, fd);
  }

  getApiVersion(): number {
    return check(this.libc, 'KVM_GET_API_VERSION', this.libc.ioctlUl(this.fd, K.KVM_GET_API_VERSION, 0));
  }

  /** 0 = not supported; otherwise a capability-specific positive value. */
  checkExtension(cap: number): number {
    return Math.max(0, this.libc.ioctlUl(this.fd, K.KVM_CHECK_EXTENSION, cap));
  }

  getVcpuMmapSize(): number {
    return check(
      this.libc,
      'KVM_GET_VCPU_MMAP_SIZE',
      this.libc.ioctlUl(this.fd, K.KVM_GET_VCPU_MMAP_SIZE, 0),
    );
  }

  getSupportedCpuid(): CpuidEntry[] {
    const b = allocCpuid2(256);
    check(this.libc, 'KVM_GET_SUPPORTED_CPUID', this.libc.ioctlPtr(this.fd, K.KVM_GET_SUPPORTED_CPUID, b));
    return decodeCpuid2(b);
  }

  createVm(): VmFd {
    const fd = check(this.libc, 'KVM_CREATE_VM', this.libc.ioctlUl(this.fd, K.KVM_CREATE_VM, 0));
    return new VmFd(this, fd);
  }

  close(): void {
    this.libc.close(this.fd);
  }
}

export class VmFd {
  constructor(
    readonly kvm: Kvm,
    readonly fd: number,
  ) {}

  private get libc(): Libc {
    return this.kvm.libc;
  }

  /** Must come before KVM_CREATE_VCPU (kvm-oracle §6, pitfall 6). */
  createIrqchip(): void {
    check(this.libc, 'KVM_CREATE_IRQCHIP', this.libc.ioctlUl(this.fd, K.KVM_CREATE_IRQCHIP, 0));
  }

  setUserMemoryRegion(slot: number, gpa: number, size: number, hostAddr: bigint): void {
    const b = encodeMemoryRegion(slot, BigInt(gpa), BigInt(size), hostAddr);
    check(
      this.libc,
      'KVM_SET_USER_MEMORY_REGION',
      this.libc.ioctlPtr(this.fd, K.KVM_SET_USER_MEMORY_REGION, b),
    );
  }

  enableCap(cap: number, args: readonly bigint[] = []): void {
    check(
      this.libc,
      'KVM_ENABLE_CAP',
      this.libc.ioctlPtr(this.fd, K.KVM_ENABLE_CAP, encodeEnableCap(cap, args)),
    );
  }

  createVcpu(id: number): VcpuFd {
    const fd = check(this.libc, 'KVM_CREATE_VCPU', this.libc.ioctlUl(this.fd, K.KVM_CREATE_VCPU, id));
    const run = HostMapping.ofFd(this.libc, fd, this.kvm.getVcpuMmapSize());
    return new VcpuFd(this.libc, fd, id, run);
  }

  close(): void {
    this.libc.close(this.fd);
  }
}

export class VcpuFd {
  constructor(
    private readonly libc: Libc,
    readonly fd: number,
    readonly id: number,
    /** The kvm_run page. */
    readonly run: HostMapping,
  ) {}

  /**
   * KVM_RUN on a libuv worker thread, so the JS thread stays free to serve userfaultfd while the vCPU
   * runs or sleeps in the kernel (kvm-oracle §6, pitfall 2). Resolves with the decoded exit.
   */
  async runAsync(): Promise<VcpuExit> {
    const r = await this.libc.ioctlUlAsync(this.fd, K.KVM_RUN, 0);
    if (r < 0) throw new KvmError('KVM_RUN', -1);
    return this.decodeExit();
  }

  /** Synchronous KVM_RUN, only for guests that are certain to exit (the probe). */
  runSync(): VcpuExit {
    check(this.libc, 'KVM_RUN', this.libc.ioctlUl(this.fd, K.KVM_RUN, 0));
    return this.decodeExit();
  }

  private decodeExit(): VcpuExit {
    const dv = this.run.dv;
    const reason = dv.getUint32(K.kvm_run.exit_reason, true);
    switch (reason) {
      case K.KVM_EXIT_MMIO: {
        const m = K.kvm_run.mmio;
        return {
          reason: 'mmio',
          physAddr: dv.getBigUint64(m.phys_addr, true),
          isWrite: dv.getUint8(m.is_write) !== 0,
          len: dv.getUint32(m.len, true),
          data: dv.getBigUint64(m.data, true),
        };
      }
      case K.KVM_EXIT_IO: {
        const io = K.kvm_run.io;
        return {
          reason: 'io',
          out: dv.getUint8(io.direction) === K.KVM_EXIT_IO_OUT,
          port: dv.getUint16(io.port, true),
          size: dv.getUint8(io.size),
        };
      }
      case K.KVM_EXIT_HLT:
        return { reason: 'hlt' };
      case K.KVM_EXIT_SHUTDOWN:
        return { reason: 'shutdown' };
      case K.KVM_EXIT_FAIL_ENTRY:
        return {
          reason: 'fail_entry',
          hardwareReason: dv.getBigUint64(K.kvm_run.fail_entry.hardware_entry_failure_reason, true),
        };
      case K.KVM_EXIT_INTERNAL_ERROR:
        return { reason: 'internal_error', suberror: dv.getUint32(K.kvm_run.internal.suberror, true) };
      case K.KVM_EXIT_INTR:
        return { reason: 'intr' };
      default:
        return { reason: 'other', code: reason };
    }
  }

  /** The data an MMIO read returns to the guest, taken by the next KVM_RUN. */
  setMmioReadData(value: bigint): void {
    this.run.dv.setBigUint64(K.kvm_run.mmio.data, value, true);
  }

  getRegs(): Regs {
    const b = Buffer.alloc(K.kvm_regs.size);
    check(this.libc, 'KVM_GET_REGS', this.libc.ioctlPtr(this.fd, K.KVM_GET_REGS, b));
    return decodeRegs(b);
  }

  /** Only before the first KVM_RUN or at a clean exit: after an I/O exit RIP may not be final yet
   * (kvm-oracle §6, pitfall 5). */
  setRegs(regs: Regs): void {
    check(this.libc, 'KVM_SET_REGS', this.libc.ioctlPtr(this.fd, K.KVM_SET_REGS, encodeRegs(regs)));
  }

  getSregs(): Sregs {
    const s = new Sregs();
    check(this.libc, 'KVM_GET_SREGS', this.libc.ioctlPtr(this.fd, K.KVM_GET_SREGS, s.buf));
    return s;
  }

  setSregs(s: Sregs): void {
    check(this.libc, 'KVM_SET_SREGS', this.libc.ioctlPtr(this.fd, K.KVM_SET_SREGS, s.buf));
  }

  /** Returns the number of MSRs KVM processed; it stops at the first failure. */
  setMsrs(entries: readonly MsrEntry[]): number {
    return check(this.libc, 'KVM_SET_MSRS', this.libc.ioctlPtr(this.fd, K.KVM_SET_MSRS, encodeMsrs(entries)));
  }

  /**
   * KVM_SET_MSRS off the JS thread: a host write of EN = 0 waits (cancel_work_sync) for an async PF
   * worker that may be blocked on a userfaultfd page only the JS thread fills.
   */
  async setMsrsAsync(entries: readonly MsrEntry[]): Promise<number> {
    const r = await this.libc.ioctlPtrAsync(this.fd, K.KVM_SET_MSRS, encodeMsrs(entries));
    if (r < 0) throw new KvmError('KVM_SET_MSRS', -1);
    return r;
  }

  /** The values of the first `n` processed MSRs, `n` being KVM's return value. */
  getMsrs(indices: readonly number[]): { n: number; values: bigint[] } {
    const b = encodeMsrs(indices.map((index) => ({ index, data: 0n })));
    const n = check(this.libc, 'KVM_GET_MSRS', this.libc.ioctlPtr(this.fd, K.KVM_GET_MSRS, b));
    return { n, values: Array.from({ length: n }, (_, i) => decodeMsrData(b, i)) };
  }

  /** KVM_GET_LAPIC: the 1 KiB register page (throws KvmError without an in-kernel LAPIC). */
  getLapic(): Buffer {
    const b = Buffer.alloc(K.KVM_APIC_REG_SIZE);
    check(this.libc, 'KVM_GET_LAPIC', this.libc.ioctlPtr(this.fd, K.KVM_GET_LAPIC, b));
    return b;
  }

  /** KVM_SET_LAPIC with a register page from getLapic(). */
  setLapic(page: Buffer): void {
    check(this.libc, 'KVM_SET_LAPIC', this.libc.ioctlPtr(this.fd, K.KVM_SET_LAPIC, page));
  }

  /** Before the first KVM_RUN. */
  setCpuid2(entries: readonly CpuidEntry[]): void {
    check(this.libc, 'KVM_SET_CPUID2', this.libc.ioctlPtr(this.fd, K.KVM_SET_CPUID2, encodeCpuid2(entries)));
  }

  enableCap(cap: number, args: readonly bigint[] = []): void {
    check(
      this.libc,
      'KVM_ENABLE_CAP',
      this.libc.ioctlPtr(this.fd, K.KVM_ENABLE_CAP, encodeEnableCap(cap, args)),
    );
  }

  setMpState(state: number): void {
    const b = Buffer.alloc(4);
    b.writeUInt32LE(state, 0);
    check(this.libc, 'KVM_SET_MP_STATE', this.libc.ioctlPtr(this.fd, K.KVM_SET_MP_STATE, b));
  }

  close(): void {
    this.run.unmap();
    this.libc.close(this.fd);
  }
}
