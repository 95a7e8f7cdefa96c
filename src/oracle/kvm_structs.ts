// Encoders and decoders for the KVM structs the backend passes to ioctl(2), over plain Buffers at the
// offsets of src/abi/kvm.ts. koffi passes a Buffer's address without copying, so the kernel's writes
// land in the same Buffer (kvm-oracle §6). 64-bit fields are bigints (pitfall 4).
import {
  KVM_REGS_ORDER,
  type KvmRegName,
  type KvmSegmentName,
  kvm_cpuid_entry2,
  kvm_cpuid2,
  kvm_dtable,
  kvm_enable_cap,
  kvm_msr_entry,
  kvm_msrs,
  kvm_regs,
  kvm_segment,
  kvm_sregs,
  kvm_userspace_memory_region,
} from '../abi/kvm.ts';

export type Regs = Record<KvmRegName, bigint>;

export function encodeRegs(regs: Regs): Buffer {
  const b = Buffer.alloc(kvm_regs.size);
  KVM_REGS_ORDER.forEach((name, i) => {
    b.writeBigUInt64LE(BigInt.asUintN(64, regs[name]), i * 8);
  });
  return b;
}

export function decodeRegs(b: Buffer): Regs {
  const regs = {} as Regs;
  KVM_REGS_ORDER.forEach((name, i) => {
    regs[name] = b.readBigUInt64LE(i * 8);
  });
  return regs;
}

export interface Segment {
  base: bigint;
  limit: number;
  selector: number;
  type: number;
  present: number;
  dpl: number;
  db: number;
  s: number;
  l: number;
  g: number;
  avl?: number;
  unusable?: number;
}

/** struct kvm_sregs as a Buffer with typed accessors; start from KVM_GET_SREGS and patch fields. */
export class Sregs {
  constructor(readonly buf: Buffer = Buffer.alloc(kvm_sregs.size)) {}

  segment(name: KvmSegmentName): Segment {
    const o = kvm_sregs[name];
    const b = this.buf;
    return {
      base: b.readBigUInt64LE(o + kvm_segment.base),
      limit: b.readUInt32LE(o + kvm_segment.limit),
      selector: b.readUInt16LE(o + kvm_segment.selector),
      type: b[o + kvm_segment.type]!,
      present: b[o + kvm_segment.present]!,
      dpl: b[o + kvm_segment.dpl]!,
      db: b[o + kvm_segment.db]!,
      s: b[o + kvm_segment.s]!,
      l: b[o + kvm_segment.l]!,
      g: b[o + kvm_segment.g]!,
      avl: b[o + kvm_segment.avl]!,
      unusable: b[o + kvm_segment.unusable]!,
    };
  }

  setSegment(name: KvmSegmentName, seg: Segment): void {
    const o = kvm_sregs[name];
    const b = this.buf;
    b.writeBigUInt64LE(seg.base, o + kvm_segment.base);
    b.writeUInt32LE(seg.limit >>> 0, o + kvm_segment.limit);
    b.writeUInt16LE(seg.selector, o + kvm_segment.selector);
    b[o + kvm_segment.type] = seg.type;
    b[o + kvm_segment.present] = seg.present;
    b[o + kvm_segment.dpl] = seg.dpl;
    b[o + kvm_segment.db] = seg.db;
    b[o + kvm_segment.s] = seg.s;
    b[o + kvm_segment.l] = seg.l;
    b[o + kvm_segment.g] = seg.g;
    b[o + kvm_segment.avl] = seg.avl ?? 0;
    b[o + kvm_segment.unusable] = seg.unusable ?? 0;
  }

  setDtable(name: 'gdt' | 'idt', base: bigint, limit: number): void {
    const o = kvm_sregs[name];
    this.buf.writeBigUInt64LE(base, o + kvm_dtable.base);
    this.buf.writeUInt16LE(limit, o + kvm_dtable.limit);
  }

  get(name: 'cr0' | 'cr2' | 'cr3' | 'cr4' | 'cr8' | 'efer' | 'apic_base'): bigint {
    return this.buf.readBigUInt64LE(kvm_sregs[name]);
  }

  set(name: 'cr0' | 'cr2' | 'cr3' | 'cr4' | 'cr8' | 'efer' | 'apic_base', v: bigint): void {
    this.buf.writeBigUInt64LE(v, kvm_sregs[name]);
  }
}

export interface CpuidEntry {
  function: number;
  index: number;
  flags: number;
  eax: number;
  ebx: number;
  ecx: number;
  edx: number;
}

/** A kvm_cpuid2 with room for `capacity` entries (KVM_GET_SUPPORTED_CPUID fails with E2BIG if short). */
export function allocCpuid2(capacity: number): Buffer {
  const b = Buffer.alloc(kvm_cpuid2.entries + capacity * kvm_cpuid_entry2.size);
  b.writeUInt32LE(capacity, kvm_cpuid2.nent);
  return b;
}

export function decodeCpuid2(b: Buffer): CpuidEntry[] {
  const n = b.readUInt32LE(kvm_cpuid2.nent);
  return Array.from({ length: n }, (_, i) => {
    const o = kvm_cpuid2.entries + i * kvm_cpuid_entry2.size;
    return {
      function: b.readUInt32LE(o + kvm_cpuid_entry2.function),
      index: b.readUInt32LE(o + kvm_cpuid_entry2.index),
      flags: b.readUInt32LE(o + kvm_cpuid_entry2.flags),
      eax: b.readUInt32LE(o + kvm_cpuid_entry2.eax),
      ebx: b.readUInt32LE(o + kvm_cpuid_entry2.ebx),
      ecx: b.readUInt32LE(o + kvm_cpuid_entry2.ecx),
      edx: b.readUInt32LE(o + kvm_cpuid_entry2.edx),
    };
  });
}

export function encodeCpuid2(entries: readonly CpuidEntry[]): Buffer {
  const b = allocCpuid2(entries.length);
  entries.forEach((e, i) => {
    const o = kvm_cpuid2.entries + i * kvm_cpuid_entry2.size;
    b.writeUInt32LE(e.function, o + kvm_cpuid_entry2.function);
    b.writeUInt32LE(e.index, o + kvm_cpuid_entry2.index);
    b.writeUInt32LE(e.flags, o + kvm_cpuid_entry2.flags);
    b.writeUInt32LE(e.eax >>> 0, o + kvm_cpuid_entry2.eax);
    b.writeUInt32LE(e.ebx >>> 0, o + kvm_cpuid_entry2.ebx);
    b.writeUInt32LE(e.ecx >>> 0, o + kvm_cpuid_entry2.ecx);
    b.writeUInt32LE(e.edx >>> 0, o + kvm_cpuid_entry2.edx);
  });
  return b;
}

export interface MsrEntry {
  index: number;
  data: bigint;
}

export function encodeMsrs(entries: readonly MsrEntry[]): Buffer {
  const b = Buffer.alloc(kvm_msrs.entries + entries.length * kvm_msr_entry.size);
  b.writeUInt32LE(entries.length, kvm_msrs.nmsrs);
  entries.forEach((e, i) => {
    const o = kvm_msrs.entries + i * kvm_msr_entry.size;
    b.writeUInt32LE(e.index >>> 0, o + kvm_msr_entry.index);
    b.writeBigUInt64LE(BigInt.asUintN(64, e.data), o + kvm_msr_entry.data);
  });
  return b;
}

export function decodeMsrData(b: Buffer, i: number): bigint {
  return b.readBigUInt64LE(kvm_msrs.entries + i * kvm_msr_entry.size + kvm_msr_entry.data);
}

export function encodeEnableCap(cap: number, args: readonly bigint[] = []): Buffer {
  const b = Buffer.alloc(kvm_enable_cap.size);
  b.writeUInt32LE(cap, kvm_enable_cap.cap);
  args.forEach((a, i) => {
    b.writeBigUInt64LE(a, kvm_enable_cap.args + i * 8);
  });
  return b;
}

export function encodeMemoryRegion(slot: number, gpa: bigint, size: bigint, hostAddr: bigint): Buffer {
  const r = kvm_userspace_memory_region;
  const b = Buffer.alloc(r.size);
  b.writeUInt32LE(slot, r.slot);
  b.writeBigUInt64LE(gpa, r.guest_phys_addr);
  b.writeBigUInt64LE(size, r.memory_size);
  b.writeBigUInt64LE(hostAddr, r.userspace_addr);
  return b;
}
