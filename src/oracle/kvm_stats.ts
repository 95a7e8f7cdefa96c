// KVM's binary statistics (KVM_GET_STATS_FD on a VM or vCPU fd, Linux 5.14+; Documentation/virt/kvm/
// api.rst "KVM_GET_STATS_FD"): a header, one descriptor per statistic (flags, exponent, size in u64s,
// offset, bucket size, name), then the data. The descriptors are read once; each read() re-reads the data
// block, which the kernel fills at read time. The kvm backend reads vCPU `pf_taken` and VM `pages_4k`
// around the ops of scripts with vm.mmu_notifiers (docs/oracle.md, "Host memory operations").
import { KVM_GET_STATS_FD, kvm_stats_desc, kvm_stats_header } from '../abi/kvm.ts';
import type { Libc } from './ffi.ts';

export class KvmStats {
  private constructor(
    private readonly libc: Libc,
    readonly fd: number,
    /** name → u64 index into the data block (the first element of array statistics). */
    private readonly index: ReadonlyMap<string, number>,
    private readonly dataOffset: number,
    private readonly dataLen: number,
  ) {}

  /** Opens the statistics of a VM or vCPU fd; null where the kernel has no KVM_GET_STATS_FD (errno). */
  static open(libc: Libc, ownerFd: number): KvmStats | { errno: number } {
    const fd = libc.ioctlUl(ownerFd, KVM_GET_STATS_FD, 0);
    if (fd < 0) return { errno: libc.errno() };
    try {
      const h = Buffer.alloc(kvm_stats_header.size);
      readAt(libc, fd, h, 0);
      const nameSize = h.readUInt32LE(kvm_stats_header.name_size);
      const n = h.readUInt32LE(kvm_stats_header.num_desc);
      const descOffset = h.readUInt32LE(kvm_stats_header.desc_offset);
      const dataOffset = h.readUInt32LE(kvm_stats_header.data_offset);
      const step = kvm_stats_desc.size + nameSize;
      const d = Buffer.alloc(step * n);
      readAt(libc, fd, d, descOffset);
      const index = new Map<string, number>();
      let end = 0;
      for (let i = 0; i < n; i++) {
        const at = i * step;
        const raw = d.subarray(at + kvm_stats_desc.name, at + step);
        const name = raw.subarray(0, Math.max(0, raw.indexOf(0))).toString('latin1');
        const offset = d.readUInt32LE(at + kvm_stats_desc.offset);
        const count = d.readUInt16LE(at + kvm_stats_desc.count);
        index.set(name, offset / 8);
        end = Math.max(end, offset + 8 * count);
      }
      return new KvmStats(libc, fd, index, dataOffset, end);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  names(): string[] {
    return [...this.index.keys()];
  }

  has(name: string): boolean {
    return this.index.has(name);
  }

  /** The current values of `names` (each must exist). */
  read(...names: string[]): bigint[] {
    const b = Buffer.alloc(this.dataLen);
    readAt(this.libc, this.fd, b, this.dataOffset);
    return names.map((n) => {
      const i = this.index.get(n);
      if (i === undefined) throw new Error(`KVM statistic ${n} does not exist on this kernel`);
      return b.readBigUInt64LE(8 * i);
    });
  }

  close(): void {
    this.libc.close(this.fd);
  }
}

function readAt(libc: Libc, fd: number, buf: Buffer, offset: number): void {
  const got = libc.pread(fd, buf, buf.length, offset);
  if (got !== buf.length)
    throw new Error(`pread of the KVM statistics fd: ${got} of ${buf.length} bytes (errno ${libc.errno()})`);
}
