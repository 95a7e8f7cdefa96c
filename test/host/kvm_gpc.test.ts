// mmu.md §E case 49: the notifier-aware gfn_to_pfn_cache (src/host/kvm_gpc.ts, 5.17+), beside
// kvm_vcpu_map which the notifiers do not protect (kvm_host_map.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  GPC_REFRESH_SPINS,
  type GpcHost,
  kvm_gpc_activate,
  kvm_gpc_check,
  kvm_gpc_refresh,
  newGpc,
} from '../../src/host/kvm_gpc.ts';
import { hostBehaviour } from '../../src/host/x86/era.ts';
import { host_mm_begin, host_mm_step, MM_MIGRATE } from '../../src/host/x86/primary_mmu.ts';
import { createVm, type KvmVm } from '../../src/host/x86/vm.ts';

function vmWithMaps(): KvmVm {
  return createVm(hostBehaviour('6.1'), {
    irqchip: true,
    enforce_pv_cpuid: false,
    kvm_features: 0,
    hlt_in_guest: false,
    guest_state_protected: false,
    tdp: true,
    memory: 16 * 4096,
    vcpus: 1,
    mmu_notifiers: true,
    host_maps: {},
  });
}
const host = (vm: KvmVm): GpcHost => ({
  backing: vm.hostMaps!.backing,
  mn_active_invalidate_count: vm.mmu.mn_active_invalidate_count,
  mmu_invalidate_seq: vm.mmu.mmu_invalidate_seq,
  slot_base: vm.mmu.slot_base,
});

// mmu §E case 49
test('mmu §E case 49: a valid gpc inside an invalidated range fails check after start(); refresh re-resolves after end()', () => {
  const vm = vmWithMaps();
  const gpc = newGpc();
  vm.hostMaps!.gpcs.push(gpc);
  assert.equal(kvm_gpc_activate(host(vm), gpc, 3), 0);
  const gen = vm.hostMaps!.backing.generation;
  assert.ok(kvm_gpc_check(gpc, gen));
  const old = gpc.pfn;
  const t = host_mm_begin(vm, MM_MIGRATE, 3, 4);
  host_mm_step(vm, t); // invalidate_range_start
  assert.equal(kvm_gpc_check(gpc, gen), false, 'invalidated before mmu_lock');
  assert.equal(kvm_gpc_refresh(host(vm), gpc), GPC_REFRESH_SPINS, 'hva_to_pfn_retry spins while active');
  host_mm_step(vm, t); // the PTE change: the page moves (the cache holds no reference from 6.0)
  host_mm_step(vm, t); // invalidate_range_end
  assert.equal(kvm_gpc_refresh(host(vm), gpc), 0);
  assert.ok(kvm_gpc_check(gpc, gen));
  assert.notEqual(gpc.pfn, old, 'the cache now names the migrated page');
  assert.equal(gpc.pfn, vm.hostMaps!.backing.frame[3]);
  // An invalidation of another page leaves it valid.
  const t2 = host_mm_begin(vm, MM_MIGRATE, 5, 6);
  host_mm_step(vm, t2);
  assert.ok(kvm_gpc_check(gpc, gen));
});
