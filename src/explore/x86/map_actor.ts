// The explorer's environment actor for host-internal callers of the guest mapping API (docs/mmu.md,
// "Guest mapping"; config.ts ExploreMapsSpec): each configured caller (nested VMX's vmcs12 or APIC-access
// page, the GHCB, steal time …) runs `cycles` times map → write (if the call site writes) → unmap, as
// separate steps, interleaving with vCPU steps and host memory operations. Its state (the callers' struct
// kvm_host_map, the steal-time caches, the host backing of the mapped pages) is encoded canonically here:
// frame ids are renumbered in order of first appearance, so two states that differ only in which ids the
// host handed out encode the same.

import {
  __kvm_vcpu_map,
  describeHostMap,
  HVA_NULL,
  host_map_coherent,
  host_map_write,
  KVM_PFN_ERR,
  KVM_UNMAPPED_PAGE,
  kvm_map_gfn,
  kvm_unmap_gfn,
  kvm_vcpu_map,
  kvm_vcpu_mapped,
  kvm_vcpu_unmap,
  PAGE_NULL,
} from '../../host/kvm_host_map.ts';
import { BUG_APIC_ACCESS_PAGE_UNMAPPED_CLEAN } from '../../host/x86/bugs.ts';
import {
  CALLER_STEAL_TIME,
  callerUnmapDirty,
  callerWrites,
  HOST_MAP_CALLERS,
  type HostMaps,
} from '../../host/x86/host_maps.ts';
import type { KvmVm } from '../../host/x86/vm.ts';
import { gfnToGpa } from '../../mem/guest_memory.ts';
import { BACKING_DEVMEM, type HostBacking } from '../../mem/host_backing.ts';
import { restorePageState } from '../../mem/page_state.ts';
import type { ExploreMapsSpec } from './config.ts';
import { hex } from './guest_adapter.ts';

/** Per-caller actor state: cycles left, and whether the current mapping was made atomically. */
export class MapActor {
  readonly cycles: Int32Array;
  readonly atomic: Int32Array;
  constructor(readonly spec: ExploreMapsSpec) {
    this.cycles = Int32Array.from(spec.callers, (c) => c.cycles);
    this.atomic = new Int32Array(spec.callers.length);
  }
}

/** The map pages of a world that are not program pages (their page-state bytes are encoded here). */
export const extraMapPages = (spec: ExploreMapsSpec, pages: readonly number[]): number[] =>
  [...new Set(spec.callers.map((c) => c.gfn))].filter((g) => !pages.includes(g)).sort((a, b) => a - b);

/** Every mapped page (sorted). */
export const mapPages = (spec: ExploreMapsSpec): number[] =>
  [...new Set(spec.callers.map((c) => c.gfn))].sort((a, b) => a - b);

/** The callers' kernel indices (HOST_MAP_CALLERS). */
const callerIndex = (spec: ExploreMapsSpec, i: number): number =>
  HOST_MAP_CALLERS.indexOf(spec.callers[i]!.caller);

// ---- steps ----

/** Step kinds: map (k = 1: steal time's atomic kvm_map_gfn), write through the map, unmap. */
export type MapStepKind = 'map_map' | 'map_write' | 'map_unmap';

export function mapStepEnabled(vm: KvmVm, a: MapActor, kind: MapStepKind, i: number): boolean {
  const map = vm.hostMaps!.maps[callerIndex(a.spec, i)]!;
  switch (kind) {
    case 'map_map':
      return a.cycles[i]! > 0 && !kvm_vcpu_mapped(map);
    case 'map_write':
      return kvm_vcpu_mapped(map) && !map.written && callerWrites(callerIndex(a.spec, i));
    case 'map_unmap':
      return kvm_vcpu_mapped(map);
  }
}

export function mapStepApply(vm: KvmVm, a: MapActor, kind: MapStepKind, i: number, k: number): void {
  const hm = vm.hostMaps!;
  const spec = a.spec.callers[i]!;
  const c = callerIndex(a.spec, i);
  const map = hm.maps[c]!;
  const ctx = hm.ctx;
  const cache = hm.caches[spec.vcpu]!;
  switch (kind) {
    case 'map_map':
      a.cycles[i]!--;
      a.atomic[i] = k;
      if (c === CALLER_STEAL_TIME) kvm_map_gfn(ctx, spec.gfn, map, cache, k === 1);
      else if (ctx.form === '6.13') __kvm_vcpu_map(ctx, spec.gfn, map, callerWrites(c));
      else kvm_vcpu_map(ctx, vm.vcpus[spec.vcpu]!.smm, spec.gfn, map);
      return;
    case 'map_write':
      host_map_write(ctx.backing, map, 1);
      return;
    case 'map_unmap': {
      const dirty = callerUnmapDirty(c, hm.bugs, BUG_APIC_ACCESS_PAGE_UNMAPPED_CLEAN);
      if (c === CALLER_STEAL_TIME) kvm_unmap_gfn(ctx, map, cache, dirty, a.atomic[i] === 1);
      else kvm_vcpu_unmap(ctx, map, dirty);
      a.atomic[i] = 0;
      return;
    }
  }
}

export function mapStepLabel(vm: KvmVm, a: MapActor, kind: MapStepKind, i: number, k: number): string {
  const spec = a.spec.callers[i]!;
  const hm = vm.hostMaps!;
  const c = callerIndex(a.spec, i);
  const steal = c === CALLER_STEAL_TIME;
  const at = `${spec.caller} (vcpu${spec.vcpu}) page ${hex(gfnToGpa(spec.gfn))}`;
  switch (kind) {
    case 'map_map':
      return `host: ${at}: ${steal ? `kvm_map_gfn${k === 1 ? ' (atomic)' : ''}` : 'kvm_vcpu_map'}`;
    case 'map_write':
      return `host: ${at}: write through the mapping`;
    case 'map_unmap':
      return hm.ctx.form === '6.13'
        ? `host: ${at}: kvm_vcpu_unmap`
        : `host: ${at}: ${steal ? 'kvm_unmap_gfn' : 'kvm_vcpu_unmap'}(dirty=${callerUnmapDirty(c, hm.bugs, BUG_APIC_ACCESS_PAGE_UNMAPPED_CLEAN)})`;
  }
}

// ---- encoding ----

/** How many distinct frames an encoding can hold: every mapped page's, each map's, each cache's, two spare. */
const frameSlots = (spec: ExploreMapsSpec, vcpus: number): number =>
  mapPages(spec).length + spec.callers.length + vcpus + 2;

const CALLER_WORDS = 8;
const CACHE_WORDS = 4;
const FRAME_WORDS = 5;
const STAT_WORDS = 4;

export function mapWords(spec: ExploreMapsSpec, pages: readonly number[], vcpus: number): number {
  return (
    extraMapPages(spec, pages).length +
    2 * mapPages(spec).length +
    spec.callers.length * CALLER_WORDS +
    vcpus * CACHE_WORDS +
    frameSlots(spec, vcpus) * FRAME_WORDS +
    STAT_WORDS
  );
}

/** Scratch for the renumbering: old frame id → canonical id (0: not seen). */
let canon = new Int32Array(256);
const order: number[] = [];

function see(f: number): number {
  if (f <= 0) return f;
  if (f >= canon.length) {
    const n = new Int32Array(f * 2);
    n.set(canon);
    canon = n;
  }
  if (canon[f] === 0) {
    order.push(f);
    canon[f] = order.length;
  }
  return canon[f]!;
}

const pageWord = (p: number): number => (p === KVM_UNMAPPED_PAGE || p === PAGE_NULL ? p : see(p));

export function encodeMaps(
  vm: KvmVm,
  a: MapActor,
  pages: readonly number[],
  out: Int32Array,
  w: number,
): number {
  const hm = vm.hostMaps!;
  const b = hm.backing;
  const spec = a.spec;
  order.length = 0;
  canon.fill(0);
  for (const g of extraMapPages(spec, pages)) out[w++] = vm.mem.pageState[g]!;
  for (const g of mapPages(spec)) {
    out[w++] = see(b.frame[g]!);
    out[w++] = b.dirtyBitmap[g]!;
  }
  spec.callers.forEach((cs, i) => {
    const m = hm.maps[callerIndex(spec, i)]!;
    const live = m.hva !== HVA_NULL;
    out[w++] = m.hva;
    out[w++] = live ? pageWord(m.page) : 0;
    out[w++] = live ? pageWord(m.pinned_page) : 0;
    out[w++] = live ? see(m.pfn) : 0;
    out[w++] = (m.writable ? 1 : 0) | (m.written ? 2 : 0);
    out[w++] = m.gfn === cs.gfn ? 1 : 0;
    out[w++] = a.cycles[i]!;
    out[w++] = a.atomic[i]!;
  });
  for (const cache of hm.caches) {
    out[w++] = cache.pfn === KVM_PFN_ERR ? -1 : see(cache.pfn);
    out[w++] = cache.gfn;
    out[w++] = cache.dirty ? 1 : 0;
    out[w++] = cache.generation !== b.generation ? 1 : 0;
  }
  // Frames still referenced or pinned that nothing above names (a leak), in id order.
  for (let f = 1; f < b.nextFrame; f++) if (b.refcount[f]! !== 0 || b.pincount[f]! !== 0) see(f);
  const slots = frameSlots(spec, vm.vcpus.length);
  if (order.length > slots) throw new RangeError(`map_actor: ${order.length} live frames, room for ${slots}`);
  for (let s = 0; s < slots; s++) {
    const f = order[s];
    out[w++] = f === undefined ? 0 : b.refcount[f]!;
    out[w++] = f === undefined ? 0 : b.pincount[f]!;
    out[w++] = f === undefined ? 0 : b.pageDirty[f]!;
    out[w++] = f === undefined ? 0 : b.freedInUse[f]!;
    out[w++] = f === undefined ? -1 : b.frameGfn[f]!;
  }
  const st = hm.stats;
  out[w++] = st.kunmap_of_remap > 0 ? 1 : 0;
  out[w++] = st.warns > 0 ? 1 : 0;
  out[w++] = st.remaps_live;
  out[w++] = st.dirty_lost > 0 ? 1 : 0;
  return w;
}

export function decodeMaps(
  vm: KvmVm,
  a: MapActor,
  pages: readonly number[],
  words: Int32Array,
  w: number,
): number {
  const hm = vm.hostMaps!;
  const b = hm.backing;
  const spec = a.spec;
  for (const g of extraMapPages(spec, pages)) restorePageState(vm.mem.pageState, g, words[w++]!);
  b.frame.fill(0);
  b.dirtyBitmap.fill(0);
  for (const g of mapPages(spec)) {
    b.frame[g] = words[w++]!;
    b.dirtyBitmap[g] = words[w++]!;
  }
  b.generation = 1;
  spec.callers.forEach((cs, i) => {
    const m = hm.maps[callerIndex(spec, i)]!;
    m.hva = words[w++]!;
    m.page = words[w++]!;
    m.pinned_page = words[w++]!;
    m.pfn = words[w++]!;
    const f = words[w++]!;
    m.writable = (f & 1) !== 0;
    m.written = (f & 2) !== 0;
    m.gfn = words[w++] ? cs.gfn : -1;
    a.cycles[i] = words[w++]!;
    a.atomic[i] = words[w++]!;
  });
  for (const cache of hm.caches) {
    const p = words[w++]!;
    cache.pfn = p;
    cache.gfn = words[w++]!;
    cache.dirty = words[w++] === 1;
    cache.generation = words[w++] === 1 ? 0 : 1;
  }
  const slots = frameSlots(spec, vm.vcpus.length);
  b.ensure(slots);
  b.refcount.fill(0);
  b.pincount.fill(0);
  b.pageDirty.fill(0);
  b.freedInUse.fill(0);
  b.frameGfn.fill(-1);
  b.content.fill(0);
  let used = 0;
  for (let s = 1; s <= slots; s++) {
    b.refcount[s] = words[w++]!;
    b.pincount[s] = words[w++]!;
    b.pageDirty[s] = words[w++]!;
    b.freedInUse[s] = words[w++]!;
    b.frameGfn[s] = words[w++]!;
    if (b.frameGfn[s] !== -1) used = s;
  }
  b.nextFrame = used + 1;
  const st = hm.stats;
  st.kunmap_of_remap = words[w++]!;
  st.warns = words[w++]!;
  st.remaps_live = words[w++]!;
  st.dirty_lost = words[w++]!;
  return w;
}

// ---- properties ----

/** map-balanced, at a state with no enabled step: nothing mapped, no memremap left, only caches hold refs. */
export function mapUnbalanced(hm: HostMaps): boolean {
  const b = hm.backing;
  for (const m of hm.maps) if (kvm_vcpu_mapped(m)) return true;
  if (hm.stats.remaps_live !== 0) return true;
  for (let f = 1; f < b.nextFrame; f++) {
    let cached = 0;
    for (const c of hm.caches) if (c.pfn === f && b.kind[b.frameGfn[f]!] !== BACKING_DEVMEM) cached++;
    if (b.refcount[f] !== cached || b.pincount[f] !== 0) return true;
  }
  return false;
}

/** Counts never go negative (an invariant part of map-balanced). */
export function mapCountsNegative(b: HostBacking): boolean {
  for (let f = 1; f < b.nextFrame; f++) if (b.refcount[f]! < 0 || b.pincount[f]! < 0) return true;
  return false;
}

/**
 * no-uaf-mapping: a live map of a struct page holds a reference or a pin on it (unless
 * allow_unsafe_mappings), and no page was freed while its owner still used it.
 */
export function uafMapping(hm: HostMaps): boolean {
  const b = hm.backing;
  for (let f = 1; f < b.nextFrame; f++) if (b.freedInUse[f]) return true;
  if (hm.ctx.allow_unsafe_mappings) return false;
  for (const m of hm.maps) {
    if (!kvm_vcpu_mapped(m) || m.page === PAGE_NULL || m.page === KVM_UNMAPPED_PAGE) continue;
    if (b.refcount[m.page]! <= 0 && b.pincount[m.page]! <= 0) return true;
  }
  return false;
}

/** map-coherent (informational): a live map names the frame that backs its gfn now. */
export function mapIncoherent(hm: HostMaps): boolean {
  for (const m of hm.maps) if (kvm_vcpu_mapped(m) && !host_map_coherent(hm.backing, m)) return true;
  return false;
}

/** The callers' maps, for counterexamples. */
export function describeMaps(vm: KvmVm, a: MapActor, out: Record<string, string | number | boolean>): void {
  const hm = vm.hostMaps!;
  a.spec.callers.forEach((cs, i) => {
    const m = hm.maps[callerIndex(a.spec, i)]!;
    const b = hm.backing;
    const counts =
      m.pfn > 0 && kvm_vcpu_mapped(m) ? ` ref=${b.refcount[m.pfn]} pin=${b.pincount[m.pfn]}` : '';
    const coherent = kvm_vcpu_mapped(m) ? (host_map_coherent(b, m) ? '' : ' INCOHERENT') : '';
    const written = kvm_vcpu_mapped(m) && m.written ? ' written' : '';
    out[`map.${cs.caller}`] = `${describeHostMap(hm.ctx, m)}${counts}${written}${coherent}`;
  });
  const st = hm.stats;
  let freed = 0;
  for (let f = 1; f < hm.backing.nextFrame; f++) freed += hm.backing.freedInUse[f]!;
  const bad = [
    freed ? `pages-freed-in-use=${freed}` : '',
    st.kunmap_of_remap ? 'kunmap-of-remap' : '',
    st.dirty_lost ? 'dirty-write-not-logged' : '',
    st.remaps_live ? `memremaps-live=${st.remaps_live}` : '',
  ].filter(Boolean);
  if (bad.length) out['map.events'] = bad.join(' ');
}
