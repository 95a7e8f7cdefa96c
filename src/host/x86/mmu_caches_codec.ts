// The explorer's encoding of the memory-cache model (mmu_caches_vm.ts), when a world turns it on
// (`mmu: { caches: true }`): per vCPU the fill level of each cache, whether it has loaded the root, and
// the errno KVM_RUN returned; per VM the paging-structure pages present (kvm_mmu_page.ts sp_encode), the
// allocator's pressure (grants left, failures left) and whether a BUG killed the host. Object ids and
// statistics are not encoded: ids only matter to count frees (decoding numbers the objects afresh), and
// the per-batch taken counts start at every batch.

import type { KvmMmuMemoryCache } from '../kvm_mmu_memory_cache.ts';
import { SP_WORDS, sp_decode, sp_encode } from './kvm_mmu_page.ts';
import { cacheOf, MC_COUNT, type MmuCachesVm } from './mmu_caches_vm.ts';

const PER_VCPU = MC_COUNT + 2;
const FIXED = SP_WORDS + 3;

export const mmuCachesWords = (vcpus: number): number => FIXED + PER_VCPU * vcpus;

export function encodeMmuCaches(m: MmuCachesVm, out: Int32Array, w: number): number {
  w = sp_encode(m.pages, out, w);
  out[w++] = m.alloc.grant;
  out[w++] = m.alloc.fails;
  out[w++] = m.bug !== null ? 1 : 0;
  for (let v = 0; v < m.caches.length; v++) {
    const s = m.caches[v]!;
    for (let c = 0; c < MC_COUNT; c++) out[w++] = cacheOf(s, c)?.nobjs ?? 0;
    out[w++] = m.root_loaded[v]!;
    out[w++] = m.run_error[v]!;
  }
  return w;
}

function refill(mc: KvmMmuMemoryCache, n: number): void {
  if (n > 0 && mc.objects === null) {
    // ≥6.0: the array exists once a topup made it; the x86 capacity is 40.
    mc.capacity = 40;
    mc.objects = new Int32Array(40);
  }
  mc.nobjs = n;
  for (let i = 0; i < n; i++) mc.objects![i] = i + 1;
}

export function decodeMmuCaches(m: MmuCachesVm, words: Int32Array, w: number): number {
  w = sp_decode(m.pages, words, w, m.indirect);
  m.alloc.grant = words[w++]!;
  m.alloc.fails = words[w++]!;
  m.bug = words[w++] !== 0 ? 'BUG (restored)' : null;
  m.mmu_lock_held = false;
  for (let v = 0; v < m.caches.length; v++) {
    const s = m.caches[v]!;
    for (let c = 0; c < MC_COUNT; c++) {
      const n = words[w++]!;
      const mc = cacheOf(s, c);
      if (mc !== null) refill(mc, n);
    }
    m.root_loaded[v] = words[w++]!;
    m.run_error[v] = words[w++]!;
  }
  return w;
}
