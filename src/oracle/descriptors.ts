// The x86 tables the guests run on, built by the host into the guests' private memslot: the real-mode
// IVT, the long-mode IDT, GDT, TSS and identity page tables. Pure functions returning bytes; the
// layout constants come from protocol.inc through blobs.ts.
import { protocol as P } from './guests/blobs.ts';

/** Real-mode IVT: 256 far pointers seg:off to 8-byte stubs. */
export function realModeIvt(codeSegment: number, stubsOffset: number): Uint8Array {
  const b = Buffer.alloc(256 * 4);
  for (let v = 0; v < 256; v++) {
    b.writeUInt16LE(stubsOffset + v * 8, v * 4);
    b.writeUInt16LE(codeSegment, v * 4 + 2);
  }
  return b;
}

/** 64-bit IDT: 256 interrupt gates (type 0xE, DPL 0, present) to 16-byte stubs in the kernel CS. */
export function longModeIdt(stubsAddress: number): Uint8Array {
  const b = Buffer.alloc(256 * 16);
  for (let v = 0; v < 256; v++) {
    const target = stubsAddress + v * 16;
    const o = v * 16;
    b.writeUInt16LE(target & 0xffff, o);
    b.writeUInt16LE(P.SEL_KERNEL_CS, o + 2);
    b[o + 4] = 0; // IST
    b[o + 5] = 0x8e; // present, DPL 0, 64-bit interrupt gate
    b.writeUInt16LE((target >>> 16) & 0xffff, o + 6);
    b.writeUInt32LE(Math.floor(target / 2 ** 32), o + 8);
  }
  return b;
}

/**
 * GDT in the Linux x86-64 layout, which kvm_pvm requires because it derives selectors from MSR_STAR
 * (kvm-oracle §1.2): 0x08 KERNEL32_CS, 0x10 KERNEL_CS, 0x18 KERNEL_DS, 0x23 USER32_CS, 0x2b USER_DS,
 * 0x33 USER_CS, then a 16-byte TSS descriptor at 0x40 (for vCPU 0; each vCPU's TR is loaded through
 * KVM_SET_SREGS with its own base, so the descriptor is never read again).
 */
export function linuxGdt(tssBase: number): Uint8Array {
  const b = Buffer.alloc(0x50);
  b.writeBigUInt64LE(0x00cf9b000000ffffn, 0x08);
  b.writeBigUInt64LE(0x00af9b000000ffffn, 0x10);
  b.writeBigUInt64LE(0x00cf93000000ffffn, 0x18);
  b.writeBigUInt64LE(0x00cffb000000ffffn, 0x20);
  b.writeBigUInt64LE(0x00cff3000000ffffn, 0x28);
  b.writeBigUInt64LE(0x00affb000000ffffn, 0x30);
  const o = P.SEL_TSS;
  b.writeUInt16LE(0x67, o); // limit
  b.writeUInt16LE(tssBase & 0xffff, o + 2);
  b[o + 4] = (tssBase >>> 16) & 0xff;
  b[o + 5] = 0x89; // present, 64-bit TSS (available)
  b[o + 7] = (tssBase >>> 24) & 0xff;
  b.writeUInt32LE(Math.floor(tssBase / 2 ** 32), o + 8);
  return b;
}

/** A 104-byte 64-bit TSS: only RSP0 matters (the stack for interrupts taken at CPL3); no I/O bitmap. */
export function tss64(rsp0: number): Uint8Array {
  const b = Buffer.alloc(104);
  b.writeBigUInt64LE(BigInt(rsp0), 4);
  b.writeUInt16LE(104, 102);
  return b;
}

const PTE_P = 1n;
const PTE_RW = 2n;
const PTE_US = 4n;
const PTE_PS = 0x80n;
export const PAGE_TABLE_BYTES = 6 * 4096;

/**
 * 4-level page tables at `base`: PML4, PDPT, 4 PDs mapping 0-4 GiB one to one with 2 MiB pages, all
 * user-accessible (the CPL3 touch runs in the private memslot too). The identity map makes a touched
 * GVA equal its GPA, as in kvm-oracle §5.1.
 */
export function identityPageTables(base: number): Uint8Array {
  const b = Buffer.alloc(PAGE_TABLE_BYTES);
  const flags = PTE_P | PTE_RW | PTE_US;
  b.writeBigUInt64LE(BigInt(base + 0x1000) | flags, 0); // PML4[0] -> PDPT
  for (let i = 0; i < 4; i++) {
    b.writeBigUInt64LE(BigInt(base + 0x2000 + i * 0x1000) | flags, 0x1000 + i * 8); // PDPT[i] -> PD i
    for (let j = 0; j < 512; j++) {
      const gpa = (BigInt(i) * 512n + BigInt(j)) << 21n;
      b.writeBigUInt64LE(gpa | flags | PTE_PS, 0x2000 + i * 0x1000 + j * 8);
    }
  }
  return b;
}
