// vcpu->arch.apf.gfns: the open-addressing set of gfns with an outstanding async work, used to detect a
// repeated fault on a page that is already being brought in (x86-apf §1.10). 64 slots, linear probing,
// backward-shift deletion, exactly as arch/x86/kvm/x86.c does it, so probe sequences match the kernel.
import { ASYNC_PF_PER_VCPU, GFN_HASH_EMPTY, GOLDEN_RATIO_32 } from '../../abi/kvm_host.ts';

const HASH_BITS = 6; // order_base_2(ASYNC_PF_PER_VCPU)
const MASK = ASYNC_PF_PER_VCPU - 1;

/** A gfn set; GFN_HASH_EMPTY (-1) stands for the kernel's ~0 "empty" marker. */
export type GfnHash = Float64Array;

export const newGfnHash = (): GfnHash => new Float64Array(ASYNC_PF_PER_VCPU).fill(GFN_HASH_EMPTY);

/** @kernel kvm_async_pf_hash_fn: hash_32((u32)gfn, 6). */
export function kvm_async_pf_hash_fn(gfn: number): number {
  return Math.imul(gfn >>> 0, GOLDEN_RATIO_32) >>> (32 - HASH_BITS);
}

/** @kernel kvm_async_pf_next_probe (arch/x86/kvm/x86.c): linear probing to the next slot. */
const kvm_async_pf_next_probe = (key: number): number => (key + 1) & MASK;

/** @kernel kvm_async_pf_hash_reset */
export function kvm_async_pf_hash_reset(gfns: GfnHash): void {
  gfns.fill(GFN_HASH_EMPTY);
}

/** @kernel kvm_add_async_pf_gfn: no duplicate check; callers look first. */
export function kvm_add_async_pf_gfn(gfns: GfnHash, gfn: number): void {
  let key = kvm_async_pf_hash_fn(gfn);
  while (gfns[key] !== GFN_HASH_EMPTY) key = kvm_async_pf_next_probe(key);
  gfns[key] = gfn;
}

/** @kernel kvm_async_pf_gfn_slot: where `gfn` is, or where the probe stopped. */
export function kvm_async_pf_gfn_slot(gfns: GfnHash, gfn: number): number {
  let key = kvm_async_pf_hash_fn(gfn);
  for (let i = 0; i < ASYNC_PF_PER_VCPU && gfns[key] !== gfn && gfns[key] !== GFN_HASH_EMPTY; i++) {
    key = kvm_async_pf_next_probe(key);
  }
  return key;
}

/** @kernel kvm_find_async_pf_gfn */
export function kvm_find_async_pf_gfn(gfns: GfnHash, gfn: number): boolean {
  return gfns[kvm_async_pf_gfn_slot(gfns, gfn)] === gfn;
}

/**
 * @kernel kvm_del_async_pf_gfn: backward-shift deletion. Returns false where the kernel WARNs (the gfn
 * is not in the set).
 */
export function kvm_del_async_pf_gfn(gfns: GfnHash, gfn: number): boolean {
  let i = kvm_async_pf_gfn_slot(gfns, gfn);
  if (gfns[i] !== gfn) return false;
  let j = i;
  for (;;) {
    gfns[i] = GFN_HASH_EMPTY;
    let k: number;
    do {
      j = kvm_async_pf_next_probe(j);
      if (gfns[j] === GFN_HASH_EMPTY) return true;
      k = kvm_async_pf_hash_fn(gfns[j]!);
      // k lies cyclically in (i, j]: the entry at j may not move to i.
    } while (i <= j ? i < k && k <= j : i < k || k <= j);
    gfns[i] = gfns[j]!;
    i = j;
  }
}
