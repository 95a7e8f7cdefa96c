// The host-backing reference and pin rules of the guest mapping API (docs/mmu.md "Guest mapping"), over
// random sequences of maps, writes, unmaps and host memory operations on the faithful model of every form:
// counts never go negative, and once every caller has unmapped (and the steal-time caches are released
// at vCPU teardown) KVM holds no reference or pin, no memremap is left and no page was freed in use.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  __kvm_vcpu_map,
  host_map_write,
  kvm_map_gfn,
  kvm_release_gfn_to_pfn_cache,
  kvm_unmap_gfn,
  kvm_vcpu_map,
  kvm_vcpu_mapped,
  kvm_vcpu_unmap,
} from '../../src/host/kvm_host_map.ts';
import { hostBehaviour } from '../../src/host/x86/era.ts';
import { HOST_MAP_CALLERS } from '../../src/host/x86/host_maps.ts';
import { host_mm_run, MM_MEMSLOT_REMAP } from '../../src/host/x86/primary_mmu.ts';
import { createVm } from '../../src/host/x86/vm.ts';

const NPAGES = 8;
const STEAL = HOST_MAP_CALLERS.indexOf('steal_time');

type Step =
  | { k: 'map'; c: number; gfn: number; atomic: boolean; writable: boolean; smm: boolean }
  | { k: 'write'; c: number }
  | { k: 'unmap'; c: number; dirty: boolean; atomic: boolean }
  | { k: 'host'; op: number; gfn: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    k: fc.constant('map' as const),
    c: fc.nat(HOST_MAP_CALLERS.length - 1),
    gfn: fc.nat(NPAGES),
    atomic: fc.boolean(),
    writable: fc.boolean(),
    smm: fc.boolean(),
  }),
  fc.record({ k: fc.constant('write' as const), c: fc.nat(HOST_MAP_CALLERS.length - 1) }),
  fc.record({
    k: fc.constant('unmap' as const),
    c: fc.nat(HOST_MAP_CALLERS.length - 1),
    dirty: fc.boolean(),
    atomic: fc.boolean(),
  }),
  // Every host memory operation (primary_mmu.ts MM_*), memslot_remap included.
  fc.record({ k: fc.constant('host' as const), op: fc.nat(12), gfn: fc.nat(NPAGES - 1) }),
);

for (const era of ['5.2', '5.10', '6.1', '6.18'] as const) {
  test(`${era}: refcounts and pins never negative, balanced once everything is unmapped (fast-check)`, () => {
    fc.assert(
      fc.property(
        fc.array(stepArb, { maxLength: 40 }),
        fc.array(
          fc.constantFrom('ram', 'devmem', 'nonrefcounted') as fc.Arbitrary<
            'ram' | 'devmem' | 'nonrefcounted'
          >,
          {
            minLength: NPAGES,
            maxLength: NPAGES,
          },
        ),
        fc.boolean(),
        (steps, kinds, unsafe) => {
          const modern = era === '6.18';
          const vm = createVm(hostBehaviour(era), {
            irqchip: true,
            enforce_pv_cpuid: false,
            kvm_features: 0,
            hlt_in_guest: false,
            guest_state_protected: false,
            tdp: true,
            memory: NPAGES * 4096,
            vcpus: 1,
            mmu_notifiers: true,
            host_maps: {
              dirty_logging: true,
              allow_unsafe_mappings: modern && unsafe,
              backing: kinds.map((kind, gfn) => ({ gfn, pages: 1, kind })),
              readonly: [{ gfn: 6, pages: 1 }],
              smm_only: [{ gfn: 7, pages: 1 }],
            },
          });
          const hm = vm.hostMaps!;
          const ctx = hm.ctx;
          const b = ctx.backing;
          const atomicMap: boolean[] = HOST_MAP_CALLERS.map(() => false);
          const check = (): void => {
            for (let f = 1; f < b.nextFrame; f++) {
              assert.ok(b.refcount[f]! >= 0, `refcount of frame ${f}`);
              assert.ok(b.pincount[f]! >= 0, `pincount of frame ${f}`);
            }
          };
          for (const s of steps) {
            const map = s.k === 'host' ? null : hm.maps[s.c]!;
            const steal = s.k !== 'host' && s.c === STEAL && era === '5.10';
            if (s.k === 'map') {
              if (kvm_vcpu_mapped(map!)) continue; // kernel callers never map over a live mapping
              if (steal) {
                kvm_map_gfn(ctx, s.gfn, map, hm.caches[0]!, s.atomic);
                atomicMap[s.c] = s.atomic;
              } else if (modern) __kvm_vcpu_map(ctx, s.gfn, map, s.writable);
              else kvm_vcpu_map(ctx, s.smm, s.gfn, map);
            } else if (s.k === 'write') {
              if (kvm_vcpu_mapped(map!)) host_map_write(b, map!, 7);
            } else if (s.k === 'unmap') {
              if (steal) kvm_unmap_gfn(ctx, map, hm.caches[0]!, s.dirty, atomicMap[s.c]!);
              else kvm_vcpu_unmap(ctx, map, s.dirty);
            } else if (s.op === MM_MEMSLOT_REMAP) host_mm_run(vm, s.op, 0, 0);
            else host_mm_run(vm, s.op, s.gfn + vm.mmu.slot_base, s.gfn + vm.mmu.slot_base + 1);
            check();
          }
          for (const [c, m] of hm.maps.entries()) {
            if (c === STEAL && era === '5.10') kvm_unmap_gfn(ctx, m, hm.caches[0]!, true, atomicMap[c]!);
            else kvm_vcpu_unmap(ctx, m, true);
          }
          kvm_release_gfn_to_pfn_cache(ctx, hm.caches[0]!);
          check();
          for (let f = 1; f < b.nextFrame; f++) {
            assert.equal(b.refcount[f], 0, `frame ${f} still referenced`);
            assert.equal(b.pincount[f], 0, `frame ${f} still pinned`);
            assert.equal(b.freedInUse[f], 0, `frame ${f} freed in use`);
          }
          assert.equal(
            ctx.stats.remaps_live,
            ctx.stats.warns,
            'only an atomic memremap unmap (WARN) leaves one',
          );
          assert.equal(ctx.stats.kunmap_of_remap, 0);
        },
      ),
      { numRuns: 300, seed: 14 },
    );
  });
}
