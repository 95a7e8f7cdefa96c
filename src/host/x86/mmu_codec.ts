// The canonical encoding of a VM's notifier side (mmu_notifier.ts), its host memory operations in flight
// (primary_mmu.ts) and the vCPUs' seq snapshots, for the explorer. Canonical means:
// - mmu_invalidate_seq is unbounded, and only two questions are ever asked of it: "has it changed since
//   this fault's snapshot?" and, for the 5.16–6.2 sign-extension bug, "is it at least 2^31?". So it is
//   written as that one bit, and each vCPU's pending snapshot as "changed since" (0/1). Decoding rebuilds
//   a seq and snapshots that answer the same;
// - the memslot generation is written as its parity (odd: an update in progress); statistics are not written.
import { FAULT_SNAPSHOT } from './mmu_fault_flags.ts';
import { MAX_MM_OPS } from './primary_mmu.ts';
import type { KvmVm } from './vm.ts';

const FIXED = 7;
export const mmuWords = (vcpus: number): number => FIXED + 4 * MAX_MM_OPS + vcpus;

const HIGH = 2 ** 31;

/** A vCPU holds a snapshot that a later check will compare (a fault parked before mmu_lock or in GUP). */
const snapshotLive = (vm: KvmVm, i: number): boolean => {
  const v = vm.vcpus[i]!;
  return (v.mmu_fault_gfn >= 0 || v.sync_fault_gfn >= 0) && (v.mmu_fault_flags & FAULT_SNAPSHOT) !== 0;
};

export function encodeMmu(vm: KvmVm, out: Int32Array, w: number): number {
  const m = vm.mmu;
  out[w++] = m.mmu_invalidate_seq >= HIGH ? 1 : 0;
  out[w++] = m.mmu_invalidate_in_progress;
  out[w++] = m.mmu_invalidate_range_start;
  out[w++] = m.mmu_invalidate_range_end;
  out[w++] = m.mn_active_invalidate_count;
  out[w++] = (m.memslots_generation & 1) | (m.slot_invalid ? 2 : 0);
  out[w++] = m.slot_base;
  const mm = vm.mm;
  for (let t = 0; t < MAX_MM_OPS; t++) {
    const idle = mm.phase[t] === 0;
    out[w++] = mm.phase[t]!;
    out[w++] = idle ? 0 : mm.op[t]!;
    out[w++] = idle ? 0 : mm.start[t]!;
    out[w++] = idle ? 0 : mm.end[t]!;
  }
  for (let i = 0; i < vm.vcpus.length; i++)
    out[w++] = snapshotLive(vm, i) ? (vm.vcpus[i]!.mmu_fault_seq !== m.mmu_invalidate_seq ? 1 : 0) : 0;
  return w;
}

/** Decodes after the vCPUs (their fault flags say which snapshots are live). */
export function decodeMmu(vm: KvmVm, words: Int32Array, w: number): number {
  const m = vm.mmu;
  const seq = words[w++] ? HIGH + 2 : 2;
  m.mmu_invalidate_seq = seq;
  m.mmu_invalidate_in_progress = words[w++]!;
  m.mmu_invalidate_range_start = words[w++]!;
  m.mmu_invalidate_range_end = words[w++]!;
  m.mn_active_invalidate_count = words[w++]!;
  const g = words[w++]!;
  m.memslots_generation = g & 1;
  m.slot_invalid = (g & 2) !== 0;
  m.slot_base = words[w++]!;
  const mm = vm.mm;
  for (let t = 0; t < MAX_MM_OPS; t++) {
    mm.phase[t] = words[w++]!;
    mm.op[t] = words[w++]!;
    mm.start[t] = words[w++]!;
    mm.end[t] = words[w++]!;
  }
  for (let i = 0; i < vm.vcpus.length; i++) decodeFaultSnapshot(vm, i, words[w++]!);
  return w;
}

/** Where vCPU i's "changed since" word sits in the encoding (from its start). */
export const mmuSnapshotWord = (i: number): number => FIXED + 4 * MAX_MM_OPS + i;

/**
 * vCPU i's seq snapshot from its "changed since" word, against the VM's current seq: after that vCPU is
 * decoded (its fault flags say whether the snapshot is live).
 */
export function decodeFaultSnapshot(vm: KvmVm, i: number, changed: number): void {
  vm.vcpus[i]!.mmu_fault_seq = snapshotLive(vm, i) ? vm.mmu.mmu_invalidate_seq - changed : 0;
}
