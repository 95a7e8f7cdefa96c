// The APF area's gfn_to_hva_cache after a failed EN write (../shared/spec/x86-apf.md §3.1 quirk Q-EN-1
// and its 2026 bullet, §6.1 items 12 and 17; src/mem/hva_cache.ts): a failed init keeps gpa/len (from
// 5.6), the cached accessors WARN only for an access past `len`, fail quietly on an error hva, and
// re-initialize from the kept range when the memslot generation changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KVM_REQ_APF_HALT } from '../../../src/abi/kvm_host.ts';
import * as para from '../../../src/abi/kvm_para.ts';
import { apf_pageready_slot_free, kvm_pv_async_pf_enabled } from '../../../src/host/x86/apf.ts';
import type { EraName } from '../../../src/host/x86/era.ts';
import { RET_PF_RETRY } from '../../../src/host/x86/mmu_fault.ts';
import { kvm_invalidate_memslot, kvm_swap_active_memslots } from '../../../src/host/x86/mmu_notifier.ts';
import { host_mm_run, MM_MEMSLOT_REMAP } from '../../../src/host/x86/primary_mmu.ts';
import { A, ApfFixture } from '../../test_utils/apf_fixture.ts';

const { MSR_KVM_ASYNC_PF_EN: EN, MSR_KVM_ASYNC_PF_INT: INT, MSR_KVM_ASYNC_PF_ACK: ACK } = para;
const BAD = 0x7ff_ffff_ffc0; // a GPA in no memslot
const G = 0x300;
const WARN = 'WARNING in kvm_read_guest_offset_cached';

/** A fixture that records host WARNs; memslot updates through the notifier model. */
function fixture(era: EraName): { f: ApfFixture; warns: string[] } {
  const f = new ApfFixture({ era, mmu_notifiers: true });
  const warns: string[] = [];
  f.vm.hooks.warn = (_v, m) => warns.push(m);
  return { f, warns };
}

const kinds = (f: ApfFixture): string[] => f.delivered.map((e) => e.kind);

const touch = (f: ApfFixture, gfn = G) => {
  f.evict(gfn);
  return f.fault(gfn * 4096);
};

test('x86-apf §3.1 Q-EN-1 (≤6.17): a failed first enable leaves len 0, so the next cached access WARNs (syzbot bc0e18379a290e5edfe4)', () => {
  const { f, warns } = fixture('6.17');
  f.wrmsr(INT, 0xf3);
  assert.equal(f.wrmsr(EN, BigInt(BAD) | 0x9n), '#GP');
  assert.equal(kvm_pv_async_pf_enabled(f.vm, f.vcpu), true);
  const d = f.vcpu.apf.data;
  assert.deepEqual([d.valid, d.gpa, d.len], [false, 0, 0], 'gpa/len are written only on success');
  assert.equal(touch(f), RET_PF_RETRY);
  assert.deepEqual(warns, [WARN], 'apf_put_user_notpresent: offset 0 + 4 > len 0');
  assert.ok((f.vcpu.requests & KVM_REQ_APF_HALT) !== 0, "the failed 'not present' falls back to the halt");
});

/**
 * A 'not present' #PF injected into the area at A (a task sleeps on its token), then EN re-written with
 * an area in no memslot (#GP). Returns the sleeper's token.
 */
function sleeperThenFailedReenable(f: ApfFixture): number {
  f.enabledPv();
  touch(f, G);
  f.enter();
  const pf = f.delivered[0];
  if (pf?.kind !== 'exception') throw new Error("no 'not present' #PF");
  const token = pf.cr2;
  f.setU32(A, 0); // the guest's #PF handler consumes flags
  f.delivered.length = 0;
  f.vcpu.rflags_if = true;
  assert.equal(f.wrmsr(EN, BigInt(BAD) | 0x9n), '#GP');
  return token;
}

/** The stall of §6.1-17 and its end at a memslot update, the same in ≤6.17 and 2026. */
function stallThenRecover(f: ApfFixture, warns: string[], token: number): void {
  const d = f.vcpu.apf.data;
  assert.deepEqual(
    [d.valid, d.gpa, d.len],
    [false, A, 8],
    'the old range is kept, the hva is an error value',
  );
  // 'not present' cannot be written: the artificial halt, quietly.
  assert.equal(touch(f, G + 1), RET_PF_RETRY);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  assert.deepEqual(f.delivered, []);
  assert.equal(f.u32(A), 0, 'flags untouched');
  // The sleeper's page arrives: the slot read fails ("busy"), so the completion stays on done.
  f.complete(0);
  f.settle();
  f.wrmsr(ACK, 1);
  assert.equal(f.vcpu.async_pf.doneLen, 1, 'the completion stays on done, the sleeper is not woken');
  assert.deepEqual(f.delivered, []);
  assert.equal(f.u32(A + 4), 0);
  assert.deepEqual(warns, [], 'no WARN: every access is within len 8');

  // A memslot update (DELETE + CREATE at another host address) bumps the generation: the next access
  // re-initializes the cache from the old gpa, which is in RAM, and the page-ready goes there.
  host_mm_run(f.vm, MM_MEMSLOT_REMAP, 0, 0);
  assert.notEqual(d.generation, f.vm.mmu.memslots_generation);
  f.wrmsr(ACK, 1); // any rescan trigger
  f.settle();
  assert.deepEqual([d.valid, d.gpa, d.generation], [true, A, f.vm.mmu.memslots_generation]);
  assert.equal(f.vcpu.async_pf.doneLen, 0);
  assert.equal(f.u32(A + 4), token, "the sleeper's token lands in the old area's slot");
  assert.deepEqual(f.delivered, [{ kind: 'irq', vector: 0xf3 }]);
  // And 'not present' is injected into the old area again.
  f.setU32(A + 4, 0);
  f.wrmsr(ACK, 1);
  f.delivered.length = 0;
  f.vcpu.apf.halted = false;
  touch(f, G + 2);
  f.enter();
  assert.deepEqual(kinds(f), ['exception']);
  assert.equal(f.u32(A), para.KVM_PV_REASON_PAGE_NOT_PRESENT);
  assert.deepEqual(warns, []);
}

test('x86-apf §3.1, §6.1-17 (≤6.17): a failed re-enable keeps len 8: no WARN, the halt instead of the #PF, completions stay on done; a memslot update re-initializes from the old gpa and delivery resumes there', () => {
  const { f, warns } = fixture('6.17');
  const token = sleeperThenFailedReenable(f);
  assert.equal(f.rdmsr(EN), BigInt(BAD) | 0x9n, 'Q-EN-1: msr_en_val names the bad area');
  stallThenRecover(f, warns, token);
  assert.equal(f.rdmsr(EN), BigInt(BAD) | 0x9n, 'delivery resumed while msr_en_val still names the bad area');
});

test('x86-apf §6.1-17: during a memslot update (slot INVALID) the re-initialization fails quietly; after publication it succeeds', () => {
  const { f, warns } = fixture('6.17');
  f.enabledPv();
  assert.equal(f.wrmsr(EN, BigInt(BAD) | 0x9n), '#GP');
  const d = f.vcpu.apf.data;
  kvm_invalidate_memslot(f.vm.mmuHost);
  assert.equal(apf_pageready_slot_free(f.vm, f.vcpu), false);
  assert.deepEqual([d.valid, d.gpa, d.generation], [false, A, f.vm.mmu.memslots_generation]);
  assert.ok(kvm_swap_active_memslots(f.vm.mmuHost));
  assert.equal(apf_pageready_slot_free(f.vm, f.vcpu), true);
  assert.equal(d.valid, true);
  assert.deepEqual(warns, []);
});

test('x86-apf §3.1 (2026): a failed first enable leaves pv disabled, so no cached access and no WARN', () => {
  const { f, warns } = fixture('2026');
  f.wrmsr(INT, 0xf3);
  assert.equal(f.wrmsr(EN, BigInt(BAD) | 0x9n), '#GP');
  assert.equal(f.rdmsr(EN), 0n);
  assert.equal(kvm_pv_async_pf_enabled(f.vm, f.vcpu), false);
  assert.equal(touch(f), RET_PF_RETRY);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  f.complete(0);
  f.settle();
  assert.deepEqual(warns, []);
});

test('x86-apf §3.1 (2026): a failed re-enable keeps msr_en_val and poisons the live cache the same way; the stall ends at the next memslot update', () => {
  const { f, warns } = fixture('2026');
  const token = sleeperThenFailedReenable(f);
  assert.equal(f.rdmsr(EN), BigInt(A | 0x9), 'msr_en_val unchanged');
  stallThenRecover(f, warns, token);
});

test('before 5.6 a failed init wrote the bad gpa/len first: no WARN, and a memslot update does not recover', () => {
  const { f, warns } = fixture('4.19');
  f.wrmsr(EN, A | 0x1);
  f.enter();
  f.setU32(A, 0);
  f.delivered.length = 0;
  f.vcpu.rflags_if = true;
  assert.equal(f.wrmsr(EN, BigInt(BAD) | 0x1n), '#GP');
  const d = f.vcpu.apf.data;
  assert.deepEqual([d.valid, d.gpa, d.len], [false, BAD, 4]);
  host_mm_run(f.vm, MM_MEMSLOT_REMAP, 0, 0);
  touch(f);
  f.enter();
  assert.equal(d.valid, false, 're-initialized from the bad gpa: still an error hva');
  assert.deepEqual(f.delivered, []);
  assert.deepEqual(warns, []);
});
