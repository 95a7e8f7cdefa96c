import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  identityPageTables,
  linuxGdt,
  longModeIdt,
  realModeIvt,
  tss64,
} from '../../src/oracle/descriptors.ts';
import { longModeGuest, protocol as P, realModeGuest } from '../../src/oracle/guests/blobs.ts';

const u64 = (b: Uint8Array, o: number) => Buffer.from(b).readBigUInt64LE(o);

test('real-mode IVT entries point at CS:irq_stubs + 8 * vector', () => {
  const ivt = Buffer.from(realModeIvt(0x8000, realModeGuest.symbols.irq_stubs));
  assert.equal(ivt.length, 1024);
  assert.equal(ivt.readUInt16LE(0xec * 4), realModeGuest.symbols.irq_stubs + 0xec * 8);
  assert.equal(ivt.readUInt16LE(0xec * 4 + 2), 0x8000);
});

test('long-mode IDT gates reassemble to irq_stubs + 16 * vector in the kernel CS', () => {
  const idt = Buffer.from(longModeIdt(longModeGuest.symbols.irq_stubs));
  const o = 14 * 16;
  const target = idt.readUInt16LE(o) | (idt.readUInt16LE(o + 6) << 16);
  assert.equal(target + idt.readUInt32LE(o + 8) * 2 ** 32, longModeGuest.symbols.irq_stubs + 14 * 16);
  assert.equal(idt.readUInt16LE(o + 2), P.SEL_KERNEL_CS);
  assert.equal(idt[o + 5], 0x8e);
});

test('GDT has the Linux selectors kvm_pvm derives from MSR_STAR, and a TSS descriptor', () => {
  const gdt = linuxGdt(0x86100);
  assert.equal(u64(gdt, P.SEL_KERNEL_CS), 0x00af9b000000ffffn); // L=1, DPL 0
  assert.equal(u64(gdt, P.SEL_USER_CS & ~3), 0x00affb000000ffffn); // L=1, DPL 3
  assert.equal(u64(gdt, P.SEL_USER_DS & ~3), 0x00cff3000000ffffn);
  assert.equal(gdt[P.SEL_TSS + 5], 0x89);
  assert.equal(Buffer.from(gdt).readUInt16LE(P.SEL_TSS + 2), 0x6100);
});

test('TSS carries RSP0 at offset 4', () => {
  assert.equal(Buffer.from(tss64(0x88800)).readBigUInt64LE(4), 0x88800n);
});

test('page tables map 0-4 GiB one to one with user-accessible 2 MiB pages', () => {
  const pt = identityPageTables(P.PT_GPA);
  assert.equal(u64(pt, 0), BigInt(P.PT_GPA + 0x1000) | 7n);
  assert.equal(u64(pt, 0x1000 + 3 * 8), BigInt(P.PT_GPA + 0x5000) | 7n);
  const lastPde = u64(pt, 0x2000 + 3 * 0x1000 + 511 * 8);
  assert.equal(lastPde, 0xffe00000n | 0x87n);
  assert.equal(u64(pt, 0x2000 + 8), 0x200000n | 0x87n);
});

test('the guests fit the private memslot layout of protocol.inc', () => {
  for (const g of [realModeGuest, longModeGuest])
    assert.ok(Buffer.from(g.bytes, 'base64').length <= P.CODE_MAX);
  assert.ok(P.PCPU_GPA + P.MAX_VCPUS * P.PCPU_STRIDE <= P.PT_GPA);
  assert.ok(P.TSS_GPA + P.MAX_VCPUS * P.TSS_STRIDE <= P.PCPU_GPA);
  assert.ok(P.PT_GPA + 6 * 4096 <= P.REPORT_GPA);
  assert.equal(P.PRIV_BASE + P.PRIV_SIZE, P.REPORT_GPA);
  assert.ok(P.REPORT_GPA + P.R_COUNT * P.REPORT_STRIDE <= P.PRIV_END);
});
