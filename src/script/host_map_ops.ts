// The guest-mapping ops of a script (vm.maps; docs/mmu.md, "Guest mapping"): vcpu_map, map_write,
// map_read and vcpu_unmap, each one call of the kernel API (src/host/kvm_host_map.ts) for a host-internal
// caller (host_maps.ts). The record shows the kernel's return value (`ret`, an errno name), the map's
// fields after the op, and whether the map still names the frame that backs its gfn (`coherent`). Shared
// by both script runners.
import {
  __kvm_vcpu_map,
  describeHostMap,
  errnoName,
  host_map_coherent,
  host_map_write,
  type KvmHostMap,
  kvm_map_gfn,
  kvm_unmap_gfn,
  kvm_vcpu_map,
  kvm_vcpu_mapped,
  kvm_vcpu_unmap,
} from '../host/kvm_host_map.ts';
import { bugBit } from '../host/x86/bugs.ts';
import {
  CALLER_STEAL_TIME,
  callerUnmapDirty,
  callerWrites,
  HOST_MAP_CALLERS,
  type HostMaps,
  type HostMapsConfig,
} from '../host/x86/host_maps.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { PAGE_SIZE } from '../mem/guest_memory.ts';
import type { MapOp, MapsVm } from './schema.ts';
import { hex, type MapsRecord, type OpRecord } from './transcript.ts';

const APIC_CLEAN = bugBit('apic-access-page-unmapped-clean');

/** The script's `vm.maps` as the host model's HostMapsConfig (gpas become gfns). */
export function toHostMapsConfig(m: MapsVm, bugs: number): HostMapsConfig {
  const range = (r: { gpa: bigint; pages: number }) => ({
    gfn: Number(r.gpa / BigInt(PAGE_SIZE)),
    pages: r.pages,
  });
  return {
    allow_unsafe_mappings: m.allow_unsafe_mappings,
    dirty_logging: m.dirty_logging,
    has_iomem: m.has_iomem,
    backing: m.backing.map((r) => ({ ...range(r), kind: r.kind })),
    readonly: m.readonly.map(range),
    smm_only: m.smm_only.map(range),
    bugs,
  };
}

/** Runs `op` (validated by load_script.ts) on `vm` and returns its record. */
export function runMapOp(vm: KvmVm, op: MapOp, index: number, multi: boolean, bugs: number): OpRecord {
  const hm = vm.hostMaps!;
  const ctx = hm.ctx;
  const c = HOST_MAP_CALLERS.indexOf(op.caller);
  const map = hm.maps[c]!;
  const vcpu = op.vcpu ?? 0;
  const rec: OpRecord = { op: index, kind: op.op, ...(multi ? { vcpu } : {}), result: 'ok' };
  switch (op.op) {
    case 'vcpu_map': {
      const gfn = Number(op.gpa / BigInt(PAGE_SIZE));
      let r: number;
      if (c === CALLER_STEAL_TIME) r = kvm_map_gfn(ctx, gfn, map, hm.caches[vcpu]!, op.atomic ?? false);
      else if (ctx.form === '6.13') r = __kvm_vcpu_map(ctx, gfn, map, op.writable ?? callerWrites(c));
      else r = kvm_vcpu_map(ctx, vm.vcpus[vcpu]!.smm, gfn, map);
      rec.ret = errnoName(r);
      break;
    }
    case 'map_write':
      if (!kvm_vcpu_mapped(map)) return { ...rec, result: 'rejected', map: describeHostMap(ctx, map) };
      host_map_write(ctx.backing, map, Number(op.value));
      break;
    case 'map_read':
      if (!kvm_vcpu_mapped(map)) return { ...rec, result: 'rejected', map: describeHostMap(ctx, map) };
      rec.value = hex(ctx.backing.content[map.pfn]! >>> 0);
      break;
    case 'vcpu_unmap': {
      const gfn = map.gfn;
      const dirty = op.dirty ?? callerUnmapDirty(c, bugs, APIC_CLEAN);
      if (c === CALLER_STEAL_TIME) kvm_unmap_gfn(ctx, map, hm.caches[vcpu]!, dirty, op.atomic ?? false);
      else kvm_vcpu_unmap(ctx, map, dirty);
      rec.map = describeHostMap(ctx, map);
      if (gfn >= 0 && ctx.backing.dirtyLogging) rec.dirty_logged = ctx.backing.dirtyBitmap[gfn] === 1;
      return rec;
    }
  }
  rec.map = describeHostMap(ctx, map);
  if (kvm_vcpu_mapped(map)) rec.coherent = host_map_coherent(ctx.backing, map);
  return rec;
}

/** Maps still held, references and pins KVM holds, and what went wrong, at the end of a script. */
export function mapsRecord(hm: HostMaps): MapsRecord {
  const b = hm.backing;
  let refs = 0;
  let pins = 0;
  let freed = 0;
  for (let f = 1; f < b.nextFrame; f++) {
    refs += b.refcount[f]!;
    pins += b.pincount[f]!;
    freed += b.freedInUse[f]!;
  }
  const mapped = hm.maps.filter((m: KvmHostMap) => kvm_vcpu_mapped(m)).length;
  const dirty: string[] = [];
  for (let g = 0; g < b.npages; g++) if (b.dirtyBitmap[g]) dirty.push(hex(g * PAGE_SIZE));
  return {
    maps: 'end',
    mapped,
    refs,
    pins,
    kunmap_of_remap: hm.stats.kunmap_of_remap,
    freed_in_use: freed,
    ...(b.dirtyLogging ? { dirty_log: dirty.join(',') || 'none' } : {}),
  };
}
