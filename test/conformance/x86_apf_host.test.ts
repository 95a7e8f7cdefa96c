// x86-apf §8.2–§8.5: the host conformance cases of eras E3–E5, on the default fixture of §8.1
// (src/test_utils/apf_fixture.ts). Each test names its case.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KVM_MP_STATE_HALTED, KVM_MP_STATE_RUNNABLE } from '../../src/abi/kvm.ts';
import { KVM_REQ_APF_HALT, KVM_REQ_APF_READY } from '../../src/abi/kvm_host.ts';
import * as para from '../../src/abi/kvm_para.ts';
import { kvm_can_deliver_async_pf, kvm_pv_async_pf_enabled } from '../../src/host/x86/apf.ts';
import { kvm_find_async_pf_gfn } from '../../src/host/x86/async_pf_hash.ts';
import { W_NOTPRESENT_INJECTED, workPending } from '../../src/host/x86/async_pf_work.ts';
import { apic_irr_test } from '../../src/host/x86/lapic.ts';
import { RET_PF_RETRY, RET_PF_SYNC } from '../../src/host/x86/mmu_fault.ts';
import {
  KVM_HC_KICK_CPU,
  KVM_HC_SCHED_YIELD,
  KVM_HC_SEND_IPI,
  kvm_arch_vcpu_runnable,
  kvm_emulate_halt,
  kvm_emulate_hypercall,
  kvm_set_cr0_pg,
  kvm_set_msr_host_initiated,
  kvm_vcpu_reset,
  vcpu_block_wakeup,
} from '../../src/host/x86/x86.ts';
import { A, ApfFixture } from '../test_utils/apf_fixture.ts';

const { MSR_KVM_ASYNC_PF_EN: EN, MSR_KVM_ASYNC_PF_INT: INT, MSR_KVM_ASYNC_PF_ACK: ACK } = para;
const G = 0x300; // a gfn whose host page needs I/O
const GVA = G * 4096;
const PF = 0x10; // ASYNC_PF
const PFINT = 0x4010; // ASYNC_PF | ASYNC_PF_INT
const hashHas = (f: ApfFixture, gfn: number) => kvm_find_async_pf_gfn(f.vcpu.apf.gfns, gfn);
const hashEmpty = (f: ApfFixture) => f.vcpu.apf.gfns.every((x) => x === -1);
const req = (f: ApfFixture, r: number) => (f.vcpu.requests & r) !== 0;
/** A NEEDS_IO fault on `gfn` at the fixture's current CPL/IF. */
const touch = (f: ApfFixture, gfn = G) => {
  f.evict(gfn);
  return f.fault(gfn * 4096);
};

// §8.2 MSR interface

test('x86-apf §8 case 1: EN with reserved bit 4 → #GP, msr_en_val unchanged', () => {
  const f = new ApfFixture();
  assert.equal(f.wrmsr(EN, A | 0x10), '#GP');
  assert.equal(f.vcpu.apf.msr_en_val, 0n);
  assert.equal(f.vcpu.async_pf.queued, 0);
});

test('x86-apf §8 case 2: EN with reserved bit 5 → #GP', () => {
  assert.equal(new ApfFixture().wrmsr(EN, A | 0x20), '#GP');
});

test('x86-apf §8 case 3: enforcement on, no ASYNC_PF: WRMSR EN = 0 and RDMSR EN → #GP', () => {
  const f = new ApfFixture({ enforce_pv_cpuid: true, kvm_features: 1 << para.KVM_FEATURE_ASYNC_PF_INT });
  assert.equal(f.wrmsr(EN, 0), '#GP');
  assert.equal(f.rdmsr(EN), '#GP');
});

test('x86-apf §8 case 4: enforcement on, ASYNC_PF_VMEXIT absent: EN = A|0x5 → #GP, A|0x9 → ok', () => {
  const f = new ApfFixture({ enforce_pv_cpuid: true, kvm_features: PFINT });
  assert.equal(f.wrmsr(EN, A | 0x5), '#GP');
  assert.equal(f.wrmsr(EN, A | 0x9), 'ok');
});

test('x86-apf §8 case 5: enforcement on, ASYNC_PF_INT absent: A|0x9 → #GP; A|0x1 → ok, pv stays disabled', () => {
  const f = new ApfFixture({ enforce_pv_cpuid: true, kvm_features: PF });
  assert.equal(f.wrmsr(EN, A | 0x9), '#GP');
  assert.equal(f.wrmsr(EN, A | 0x1), 'ok');
  assert.equal(kvm_pv_async_pf_enabled(f.vm, f.vcpu), false);
});

test('x86-apf §8 case 6: enforcement off: EN = A|0xD → ok whatever CPUID says', () => {
  assert.equal(new ApfFixture({ kvm_features: 0 }).wrmsr(EN, A | 0xd), 'ok');
});

test('x86-apf §8 case 7: no in-kernel LAPIC: EN = 0 ok (nothing stored); EN = A|0x9 → #GP', () => {
  const f = new ApfFixture({ irqchip: false });
  assert.equal(f.wrmsr(EN, 0), 'ok');
  assert.equal(f.vcpu.apf.msr_en_val, 0n);
  assert.equal(f.wrmsr(EN, A | 0x9), '#GP');
  assert.equal(f.vcpu.apf.msr_en_val, 0n);
});

test('x86-apf §8 case 8: EN = A|0x1 → ok, reads back, pv disabled: no wakeup-all; a CPL-3 fault halts', () => {
  const f = new ApfFixture();
  assert.equal(f.wrmsr(EN, A | 0x1), 'ok');
  assert.equal(f.rdmsr(EN), BigInt(A | 1));
  assert.equal(f.vcpu.async_pf.doneLen, 0);
  assert.equal(touch(f), RET_PF_RETRY);
  assert.ok(req(f, KVM_REQ_APF_HALT));
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 9: EN = A|0x8 → ok, pv disabled', () => {
  const f = new ApfFixture();
  assert.equal(f.wrmsr(EN, A | 0x8), 'ok');
  assert.equal(kvm_pv_async_pf_enabled(f.vm, f.vcpu), false);
  assert.equal(f.vcpu.async_pf.doneLen, 0);
});

test('x86-apf §8 case 10: INT = 0xf3, EN = A|0x9 → wakeup-all; next entry writes ~0 and raises IRQ 0xf3', () => {
  const f = new ApfFixture();
  f.vcpu.rflags_if = false;
  assert.equal(f.wrmsr(INT, 0xf3), 'ok');
  assert.equal(f.wrmsr(EN, A | 0x9), 'ok');
  assert.equal(f.vcpu.async_pf.doneLen, 1);
  assert.ok(req(f, KVM_REQ_APF_READY));
  f.enter();
  assert.equal(f.u32(A + 4), 0xffffffff);
  assert.equal(f.vcpu.apf.pageready_pending, true);
  assert.ok(apic_irr_test(f.vcpu.apic, 0xf3));
  assert.deepEqual(f.traces, ['kvm_async_pf_ready: token 0xffffffff gva 0x0']);
});

test('x86-apf §8 case 11: INT never written: the wakeup-all IRQ is raised with vector 0 (and never delivered)', () => {
  const f = new ApfFixture();
  f.wrmsr(EN, A | 0x9);
  f.settle();
  assert.ok(apic_irr_test(f.vcpu.apic, 0));
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 12: EN with a GPA outside every memslot → #GP, yet RDMSR returns it and pv reads enabled (Q-EN-1)', () => {
  const f = new ApfFixture({ era: '6.17' });
  const bad = 0x7ff_ffff_ffc0n | 0x9n;
  assert.equal(f.wrmsr(EN, bad), '#GP');
  assert.equal(f.rdmsr(EN), bad);
  assert.equal(kvm_pv_async_pf_enabled(f.vm, f.vcpu), true);
});

test('x86-apf §8 case 13: the 2026 host validates first: #GP and RDMSR returns the previous value', () => {
  const f = new ApfFixture({ era: '2026' });
  f.wrmsr(EN, A | 0x1);
  assert.equal(f.wrmsr(EN, 0x7ff_ffff_ffc0n | 0x9n), '#GP');
  assert.equal(f.rdmsr(EN), BigInt(A | 1));
});

test('x86-apf §8 case 14: EN = 0 with 3 works outstanding empties queue, done and hash; no event ever', () => {
  const f = new ApfFixture().enabledPv();
  for (const g of [G, G + 1, G + 2]) {
    touch(f, g);
    f.enter();
    f.vcpu.rflags_if = true;
  }
  assert.equal(f.vcpu.async_pf.queued, 3);
  assert.equal(f.wrmsr(EN, 0), 'ok');
  assert.equal(f.vcpu.async_pf.queued, 0);
  assert.equal(f.vcpu.async_pf.doneLen, 0);
  assert.ok(hashEmpty(f));
  assert.ok(
    f.works.every(([v, s, g]) => !workPending(v.async_pf, s, g)),
    'the workers were cancelled',
  );
  f.delivered.length = 0;
  f.settle();
  assert.deepEqual(f.delivered, []);
  assert.equal(f.u32(A + 4), 0);
});

test('x86-apf §8 case 15: EN again while done holds an undeliverable item → no second wakeup-all', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.setU32(A + 4, 0x1234); // slot busy
  f.complete();
  f.enter();
  assert.equal(f.vcpu.async_pf.doneLen, 1);
  assert.equal(f.wrmsr(EN, A | 0x9), 'ok');
  assert.equal(f.vcpu.async_pf.doneLen, 1);
});

test('x86-apf §8 case 16: EN = B|0x9 with 2 works outstanding keeps them; wakeup-all first, then at B+4', () => {
  const B = 0x20000;
  const f = new ApfFixture().enabledPv();
  touch(f, G);
  f.enter();
  f.vcpu.rflags_if = true;
  touch(f, G + 1);
  f.enter();
  f.vcpu.rflags_if = true;
  f.delivered.length = 0;
  assert.equal(f.wrmsr(EN, B | 0x9), 'ok');
  assert.equal(f.vcpu.async_pf.queued, 3);
  f.enter();
  assert.equal(f.u32(B + 4), 0xffffffff);
  f.setU32(B + 4, 0);
  f.wrmsr(ACK, 1);
  f.complete(0);
  f.enter();
  assert.equal(f.u32(B + 4), 0x1000);
  assert.equal(f.u32(A + 4), 0);
});

test('x86-apf §8 case 17: INT = 0x1f3 and INT = 0x100 → #GP', () => {
  const f = new ApfFixture();
  assert.equal(f.wrmsr(INT, 0x1f3), '#GP');
  assert.equal(f.wrmsr(INT, 0x100), '#GP');
});

test('x86-apf §8 case 18: INT = 0x05 → ok (no vector validation); RDMSR INT → 0x05', () => {
  const f = new ApfFixture();
  assert.equal(f.wrmsr(INT, 5), 'ok');
  assert.equal(f.rdmsr(INT), 5n);
});

test('x86-apf §8 case 19: no in-kernel LAPIC: INT = 0 → #GP', () => {
  assert.equal(new ApfFixture({ irqchip: false }).wrmsr(INT, 0), '#GP');
});

test('x86-apf §8 case 20: enforcement on, ASYNC_PF_INT absent: INT and ACK reads and writes → #GP', () => {
  const f = new ApfFixture({ enforce_pv_cpuid: true, kvm_features: PF });
  assert.equal(f.rdmsr(INT), '#GP');
  assert.equal(f.wrmsr(INT, 0), '#GP');
  assert.equal(f.rdmsr(ACK), '#GP');
  assert.equal(f.wrmsr(ACK, 0), '#GP');
});

test('x86-apf §8 case 21: RDMSR ACK → 0, even after writing 1', () => {
  const f = new ApfFixture();
  f.wrmsr(ACK, 1);
  assert.equal(f.rdmsr(ACK), 0n);
});

test('x86-apf §8 case 22: ACK = 0 and ACK = 2 → ok, no rescan, pageready_pending unchanged', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.complete();
  f.enter(); // delivered: pageready_pending = true, slot busy
  assert.equal(f.vcpu.apf.pageready_pending, true);
  for (const v of [0, 2]) {
    assert.equal(f.wrmsr(ACK, v), 'ok');
    assert.equal(f.vcpu.apf.pageready_pending, true);
  }
});

test('x86-apf §8 case 23: ACK = ~0 is an ACK (bit 0), no #GP for the other bits', () => {
  const f = new ApfFixture().enabledPv();
  f.vcpu.apf.pageready_pending = true;
  assert.equal(f.wrmsr(ACK, 0xffff_ffff_ffff_ffffn), 'ok');
  assert.equal(f.vcpu.apf.pageready_pending, false);
});

test('x86-apf §8 case 24: enforcement with EAX = 0: every PV MSR #GPs; gated hypercalls return -KVM_ENOSYS', () => {
  const f = new ApfFixture({ enforce_pv_cpuid: true, kvm_features: 0 });
  const msrs = [
    para.MSR_KVM_SYSTEM_TIME,
    para.MSR_KVM_SYSTEM_TIME_NEW,
    para.MSR_KVM_WALL_CLOCK,
    para.MSR_KVM_WALL_CLOCK_NEW,
    EN,
    para.MSR_KVM_STEAL_TIME,
    para.MSR_KVM_PV_EOI_EN,
    para.MSR_KVM_POLL_CONTROL,
    INT,
    ACK,
  ];
  for (const m of msrs) {
    assert.equal(f.rdmsr(m), '#GP', `RDMSR ${m.toString(16)}`);
    assert.equal(f.wrmsr(m, 0), '#GP', `WRMSR ${m.toString(16)}`);
  }
  for (const hc of [KVM_HC_KICK_CPU, KVM_HC_SEND_IPI, KVM_HC_SCHED_YIELD])
    assert.equal(kvm_emulate_hypercall(f.vm, f.vcpu, hc), -para.KVM_ENOSYS);
});

// §8.3 Fault path and 'not present'

test('x86-apf §8 case 27: a CPL-3 NEEDS_IO fault: token 0x1000, work queued, flags = 1, #PF(0) with CR2 = token', () => {
  const f = new ApfFixture().enabledPv();
  assert.equal(touch(f), RET_PF_RETRY);
  assert.equal(f.vcpu.apf.id, 2);
  assert.equal(f.vcpu.async_pf.queued, 1);
  assert.ok(hashHas(f, G));
  assert.equal(f.u32(A), 1);
  f.enter();
  assert.deepEqual(f.delivered, [{ kind: 'exception', vector: 14, errorCode: 0, cr2: 0x1000 }]);
  assert.deepEqual(f.traces, [
    `kvm_try_async_get_page: gva = 0x${GVA.toString(16)}, gfn = 0x${G.toString(16)}`,
    `kvm_async_pf_not_present: token 0x1000 gva 0x${GVA.toString(16)}`,
  ]);
});

test('x86-apf §8 case 28: vcpu_id 3: tokens 0x1003, 0x2003, 0x3003', () => {
  const f = new ApfFixture({ vcpu: 3 }).enabledPv();
  const tokens = [];
  for (const g of [G, G + 1, G + 2]) {
    touch(f, g);
    f.enter();
    tokens.push(f.vcpu.cr2);
    f.vcpu.rflags_if = true;
  }
  assert.deepEqual(tokens, [0x1003, 0x2003, 0x3003]);
});

test('x86-apf §8 case 29: id = 0xFFFFF: token 0xFFFFF000|id, then the id wraps to 1, never 0', () => {
  const f = new ApfFixture({ vcpu: 1 }).enabledPv();
  f.vcpu.apf.id = 0xfffff;
  touch(f, G);
  f.enter();
  assert.equal(f.vcpu.cr2, 0xfffff001);
  assert.equal(f.vcpu.apf.id, 0x100000);
  f.vcpu.rflags_if = true;
  touch(f, G + 1);
  f.enter();
  assert.equal(f.vcpu.cr2, 0x1001);
});

test('x86-apf §8 case 31: CPL 0 without SEND_ALWAYS: no #PF, flags untouched, APF_HALT; work kept, not injected', () => {
  const f = new ApfFixture().enabledPv();
  f.vcpu.cpl = 0;
  assert.equal(touch(f), RET_PF_RETRY);
  assert.equal(f.u32(A), 0);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  assert.deepEqual(f.delivered, []);
  const [, slot] = f.works[0]!;
  assert.equal(f.vcpu.async_pf.wFlags[slot]! & W_NOTPRESENT_INJECTED, 0);
  assert.ok(hashHas(f, G));
});

test('x86-apf §8 case 32: CPL 0 with SEND_ALWAYS (EN = A|0xB) → #PF injected', () => {
  const f = new ApfFixture().enabledPv(0xb);
  f.vcpu.cpl = 0;
  touch(f);
  f.enter();
  assert.deepEqual(f.delivered, [{ kind: 'exception', vector: 14, errorCode: 0, cr2: 0x1000 }]);
});

test('x86-apf §8 case 33: IF = 0 (or an STI shadow) → synchronous: no work, no token, no trace', () => {
  for (const shadow of [false, true]) {
    const f = new ApfFixture().enabledPv();
    if (shadow) f.vcpu.interrupt_shadow = true;
    else f.vcpu.rflags_if = false;
    assert.equal(touch(f), RET_PF_SYNC);
    assert.equal(f.vcpu.async_pf.queued, 0);
    assert.equal(f.vcpu.apf.id, 0);
    assert.deepEqual(f.traces, []);
    assert.deepEqual(f.syncFaults, [G]);
  }
});

test('x86-apf §8 case 34: an exception pending or an event being re-injected → synchronous', () => {
  for (const which of ['pending', 'reinject'] as const) {
    const f = new ApfFixture().enabledPv();
    if (which === 'pending') f.vcpu.exception.pending = true;
    else f.vcpu.irq_reinject = true;
    assert.equal(touch(f), RET_PF_SYNC);
    assert.equal(f.vcpu.async_pf.queued, 0);
  }
});

test('x86-apf §8 case 35: pv disabled: a work and a token, artificial halt; completion prefaults, unhalts, no IRQ', () => {
  const f = new ApfFixture();
  f.wrmsr(EN, 0);
  assert.equal(touch(f), RET_PF_RETRY);
  assert.equal(f.vcpu.apf.id, 2);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  f.complete();
  assert.ok(kvm_arch_vcpu_runnable(f.vm, f.vcpu));
  vcpu_block_wakeup(f.vcpu);
  f.enter();
  assert.ok(f.mapped(G));
  assert.equal(f.vcpu.apf.halted, false);
  assert.deepEqual(f.delivered, []);
  assert.equal(f.u32(A + 4), 0);
  assert.ok(f.traces.includes(`kvm_async_pf_ready: token 0x1000 gva 0x${GVA.toString(16)}`));
});

test('x86-apf §8 case 36: pv enabled but CR0.PG = 0 → artificial halt instead of #PF', () => {
  const f = new ApfFixture({ era: '6.18' }).enabledPv();
  f.vcpu.cr0_pg = false;
  touch(f);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 37: hlt_in_guest: pv disabled (or CPL 0 without SEND_ALWAYS) → synchronous, no halt', () => {
  const f = new ApfFixture({ hlt_in_guest: true });
  assert.equal(touch(f), RET_PF_SYNC);
  const g = new ApfFixture({ hlt_in_guest: true }).enabledPv();
  g.vcpu.cpl = 0;
  assert.equal(touch(g), RET_PF_SYNC);
  const h = new ApfFixture({ hlt_in_guest: true }).enabledPv();
  assert.equal(touch(h), RET_PF_RETRY, 'deliverable: still async');
});

test('x86-apf §8 case 38: a repeated fault on an outstanding gfn: trace, APF_HALT, no new token, no #PF', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.delivered.length = 0;
  f.traces.length = 0;
  f.vcpu.rflags_if = true;
  assert.equal(f.fault(GVA), RET_PF_RETRY);
  assert.deepEqual(f.traces, [
    `kvm_try_async_get_page: gva = 0x${GVA.toString(16)}, gfn = 0x${G.toString(16)}`,
    `kvm_async_pf_repeated_fault: gva = 0x${GVA.toString(16)}, gfn = 0x${G.toString(16)}`,
  ]);
  assert.ok(req(f, KVM_REQ_APF_HALT));
  assert.equal(f.vcpu.apf.id, 2);
  f.enter();
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 39: queued = 64: setup fails, the fault is synchronous, the token id is still consumed', () => {
  const f = new ApfFixture({ era: '6.18' }).enabledPv();
  f.vcpu.cpl = 0; // CPL 0 without SEND_ALWAYS: works are created without #PF injection
  for (let i = 0; i < 64; i++) assert.equal(touch(f, G + i), RET_PF_RETRY);
  assert.equal(f.vcpu.async_pf.queued, 64);
  const id = f.vcpu.apf.id;
  assert.equal(touch(f, G + 64), RET_PF_SYNC);
  assert.equal(f.vcpu.apf.id, id + 1);
});

test('x86-apf §8 case 40: a prefetch fault on a NEEDS_IO page is synchronous, never async', () => {
  const f = new ApfFixture().enabledPv();
  f.evict(G);
  assert.equal(f.fault(GVA, true), RET_PF_SYNC);
  assert.equal(f.vcpu.async_pf.queued, 0);
});

test("x86-apf §8 case 41: in guest mode with bit 2: flags in L1's area and a #PF VM-exit with the token", () => {
  const f = new ApfFixture().enabledPv(0xd);
  f.vcpu.guest_mode = true;
  touch(f);
  assert.equal(f.u32(A), 1);
  f.enter();
  assert.deepEqual(f.delivered, [{ kind: 'pf_vmexit', address: 0x1000 }]);
});

test('x86-apf §8 case 42: in guest mode without bit 2 → artificial halt, L1 sees nothing', () => {
  const f = new ApfFixture().enabledPv(0x9);
  f.vcpu.guest_mode = true;
  touch(f);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 43: protected guest state (6.15+): SEND_ALWAYS = 0 → halt; SEND_ALWAYS = 1 → #PF', () => {
  const f = new ApfFixture({ guest_state_protected: true }).enabledPv(0x9);
  touch(f);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  const g = new ApfFixture({ guest_state_protected: true }).enabledPv(0xb);
  touch(g);
  g.enter();
  assert.equal(g.delivered[0]?.kind, 'exception');
  const old = new ApfFixture({ era: '6.8', guest_state_protected: true }).enabledPv(0x9);
  touch(old);
  old.enter();
  assert.equal(old.delivered[0]?.kind, 'exception', 'before 6.15 only the CPL counted');
});

test('x86-apf §8 case 44: flags still 1 from the last APF: the host writes 1 again and injects', () => {
  const f = new ApfFixture().enabledPv();
  touch(f, G);
  f.enter();
  f.vcpu.rflags_if = true;
  assert.equal(f.u32(A), 1);
  touch(f, G + 1);
  f.enter();
  assert.equal(f.u32(A), 1);
  assert.equal(f.delivered.length, 2);
});

// §8.4 Completion, 'page ready', ACK

test('x86-apf §8 case 45: completion: done, APF_READY, kick; next entry prefaults, writes the token, IRQ 0xf3', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.vcpu.rflags_if = true;
  f.traces.length = 0;
  f.delivered.length = 0;
  f.complete();
  assert.equal(f.vcpu.async_pf.doneLen, 1);
  assert.ok(req(f, KVM_REQ_APF_READY));
  assert.equal(f.kicks, 1);
  f.enter();
  assert.ok(f.mapped(G));
  assert.ok(!hashHas(f, G));
  assert.equal(f.u32(A + 4), 0x1000);
  assert.equal(f.vcpu.apf.pageready_pending, true);
  assert.equal(f.vcpu.async_pf.queued, 0);
  assert.deepEqual(f.delivered, [{ kind: 'irq', vector: 0xf3 }]);
  assert.deepEqual(f.traces, [
    `kvm_async_pf_completed: gva 0x${GVA.toString(16)} address 0x${(f.vm.hva_base + GVA).toString(16)}`,
    `kvm_async_pf_ready: token 0x1000 gva 0x${GVA.toString(16)}`,
  ]);
});

test('x86-apf §8 case 46: busy slot: nothing delivered; clearing without ACK still nothing; ACK = 1 delivers', () => {
  const f = new ApfFixture().enabledPv();
  touch(f, G);
  f.enter();
  f.vcpu.rflags_if = true;
  touch(f, G + 1);
  f.enter();
  f.setU32(A + 4, 0x5555);
  f.complete(0);
  f.enter();
  assert.equal(f.u32(A + 4), 0x5555);
  f.setU32(A + 4, 0);
  f.complete(1);
  assert.ok(!req(f, KVM_REQ_APF_READY), 'done was non-empty: no new request');
  f.enter();
  assert.equal(f.u32(A + 4), 0);
  f.wrmsr(ACK, 1);
  assert.equal(f.u32(A + 4), 0x1000);
  assert.ok(apic_irr_test(f.vcpu.apic, 0xf3));
});

test('x86-apf §8 case 47: two completions with a free slot: only the first is delivered until clear + ACK', () => {
  const f = new ApfFixture().enabledPv();
  touch(f, G);
  f.enter();
  f.vcpu.rflags_if = true;
  touch(f, G + 1);
  f.enter();
  f.complete(0);
  f.complete(1);
  f.enter();
  assert.equal(f.u32(A + 4), 0x1000);
  assert.equal(f.vcpu.async_pf.doneLen, 1);
  f.setU32(A + 4, 0);
  f.wrmsr(ACK, 1);
  assert.equal(f.u32(A + 4), 0x2000);
});

test('x86-apf §8 case 48: LAPIC software-disabled at completion: nothing dequeued; SPIV enable delivers', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.wrmsr(0x80f, 0xff);
  f.complete();
  f.enter();
  assert.equal(f.u32(A + 4), 0);
  assert.equal(f.vcpu.async_pf.doneLen, 1);
  f.wrmsr(0x80f, 0x1ff);
  assert.ok(req(f, KVM_REQ_APF_READY));
  f.enter();
  assert.equal(f.u32(A + 4), 0x1000);
});

test('x86-apf §8 case 49: a halt-path work (CPL 0, no SEND_ALWAYS) completes: gfn deleted, unhalted, no token, no IRQ', () => {
  const f = new ApfFixture().enabledPv();
  f.vcpu.cpl = 0;
  touch(f);
  f.enter();
  f.complete();
  vcpu_block_wakeup(f.vcpu);
  f.enter();
  assert.ok(!hashHas(f, G));
  assert.equal(f.vcpu.apf.halted, false);
  assert.equal(f.u32(A + 4), 0);
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 51: a HLT-halted vCPU wakes when an outstanding work completes; processing makes it RUNNABLE', () => {
  const f = new ApfFixture().enabledPv();
  f.vcpu.cpl = 0;
  touch(f);
  f.enter(); // artificial halt ...
  vcpu_block_wakeup(f.vcpu); // ... ended by an unrelated interrupt; the guest then executes HLT
  kvm_emulate_halt(f.vcpu);
  f.vcpu.rflags_if = false;
  assert.ok(!kvm_arch_vcpu_runnable(f.vm, f.vcpu));
  f.complete();
  assert.ok(kvm_arch_vcpu_runnable(f.vm, f.vcpu), 'done non-empty is an event');
  f.enter();
  assert.equal(f.vcpu.mp_state, KVM_MP_STATE_RUNNABLE);
});

test('x86-apf §8 case 52: completion while pageready_pending: APF_READY but no kick', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.vcpu.apf.pageready_pending = true;
  f.complete();
  assert.ok(req(f, KVM_REQ_APF_READY));
  assert.equal(f.kicks, 0);
});

test('x86-apf §8 case 53: two back-to-back completions onto an empty done: one request, one kick', () => {
  const f = new ApfFixture().enabledPv();
  touch(f, G);
  f.enter();
  f.vcpu.rflags_if = true;
  touch(f, G + 1);
  f.enter();
  f.complete(0);
  f.vcpu.requests = 0;
  f.complete(1);
  assert.ok(!req(f, KVM_REQ_APF_READY));
  assert.equal(f.kicks, 1);
});

test('x86-apf §8 case 54: shadow paging: CR3 changed → no prefault, page-ready still delivered; TDP prefaults', () => {
  const f = new ApfFixture({ tdp: false }).enabledPv();
  f.vcpu.cr3 = 0x5000;
  touch(f);
  f.enter();
  f.vcpu.cr3 = 0x6000;
  f.complete();
  f.enter();
  assert.ok(!f.mapped(G));
  assert.equal(f.u32(A + 4), 0x1000);
  const t = new ApfFixture({ tdp: true }).enabledPv();
  touch(t);
  t.enter();
  t.vcpu.cr3 = 0x6000;
  t.complete();
  t.enter();
  assert.ok(t.mapped(G));
});

test('x86-apf §8 case 55: EN = 0 after the #PF, before completion: the token never completes', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  f.wrmsr(EN, 0);
  const [v, slot, gen] = f.works[0]!;
  assert.equal(workPending(v.async_pf, slot, gen), false);
  f.settle();
  assert.equal(f.u32(A + 4), 0);
});

test('x86-apf §8 case 56: ACK = 1 with pv disabled drains halt-path items (prefault + unhalt), no IRQ', () => {
  const f = new ApfFixture();
  f.wrmsr(EN, 0);
  touch(f);
  f.enter();
  f.complete();
  f.wrmsr(ACK, 1);
  assert.equal(f.vcpu.async_pf.doneLen, 0);
  assert.ok(f.mapped(G));
  assert.equal(f.vcpu.apf.halted, false);
  assert.ok(!apic_irr_test(f.vcpu.apic, 0xf3));
});

// §8.5 Reset, CR0, migration

test('x86-apf §8 case 57: INIT zeroes EN/INT, clears queue and hash, ends the halt; vec and id survive', () => {
  const f = new ApfFixture().enabledPv();
  touch(f);
  f.enter();
  kvm_vcpu_reset(f.vm, f.vcpu, true);
  assert.equal(f.vcpu.apf.msr_en_val, 0n);
  assert.equal(f.vcpu.apf.msr_int_val, 0n);
  assert.equal(f.rdmsr(EN), 0n);
  assert.equal(f.vcpu.async_pf.queued, 0);
  assert.ok(hashEmpty(f));
  assert.equal(f.vcpu.apf.halted, false);
  assert.equal(f.vcpu.apf.vec, 0xf3);
  assert.equal(f.vcpu.apf.id, 2);
});

test('x86-apf §8 case 58 (≤6.17): a CR0.PG toggle clears the queue; no page-ready ever arrives', () => {
  const f = new ApfFixture({ era: '6.17' }).enabledPv();
  touch(f);
  f.enter();
  kvm_set_cr0_pg(f.vm, f.vcpu, false);
  kvm_set_cr0_pg(f.vm, f.vcpu, true);
  assert.equal(f.vcpu.async_pf.queued, 0);
  assert.ok(hashEmpty(f));
  f.settle();
  assert.equal(f.u32(A + 4), 0);
});

test('x86-apf §8 case 59 (6.18+, ab4e41eb9fab): the queue survives a CR0.PG toggle; PG 0→1 rescans', () => {
  const f = new ApfFixture({ era: '6.18' }).enabledPv();
  touch(f);
  f.enter();
  kvm_set_cr0_pg(f.vm, f.vcpu, false);
  f.complete();
  f.vcpu.requests = 0;
  kvm_set_cr0_pg(f.vm, f.vcpu, true);
  assert.ok(req(f, KVM_REQ_APF_READY));
  f.enter();
  assert.equal(f.u32(A + 4), 0x1000);
});

test('x86-apf §8 case 60: migration restore of INT and EN by the VMM (either order) delivers a wakeup-all', () => {
  for (const order of [
    [INT, EN],
    [EN, INT],
  ]) {
    const f = new ApfFixture();
    f.vcpu.rflags_if = true;
    for (const m of order)
      assert.ok(kvm_set_msr_host_initiated(f.vm, f.vcpu, m, m === INT ? 0xf3n : BigInt(A | 9)));
    f.enter();
    assert.equal(f.u32(A + 4), 0xffffffff);
    assert.deepEqual(f.delivered, [{ kind: 'irq', vector: 0xf3 }]);
  }
});

test('x86-apf §2.4 P-DELIVER: can_deliver reads CR0.PG outside guest mode', () => {
  const f = new ApfFixture().enabledPv();
  assert.equal(kvm_can_deliver_async_pf(f.vm, f.vcpu), true);
  f.vcpu.cr0_pg = false;
  assert.equal(kvm_can_deliver_async_pf(f.vm, f.vcpu), false);
});

test('x86-apf §3.9 step 5 / §6.1 item 3: HLT returns at once while `done` is non-empty (the 100%-CPU HLT loop)', () => {
  const f = new ApfFixture({ era: '6.18' }).enabledPv();
  touch(f);
  f.enter();
  f.setU32(A + 4, 0x5555); // slot busy: the completion can never be dequeued
  f.complete();
  f.enter();
  assert.equal(f.vcpu.async_pf.doneLen, 1);
  f.vcpu.rflags_if = false;
  kvm_emulate_halt(f.vcpu);
  assert.equal(f.vcpu.mp_state, KVM_MP_STATE_HALTED);
  assert.ok(kvm_arch_vcpu_runnable(f.vm, f.vcpu), 'has_events: done is non-empty, so HLT does not block');
  f.setU32(A + 4, 0);
  f.wrmsr(ACK, 1);
  assert.equal(f.vcpu.async_pf.doneLen, 0);
  assert.equal(
    f.vcpu.mp_state,
    KVM_MP_STATE_RUNNABLE,
    'processing pulls the vCPU out of HALTED (§3.10 step 4)',
  );
  kvm_emulate_halt(f.vcpu);
  assert.ok(!kvm_arch_vcpu_runnable(f.vm, f.vcpu), 'with done drained and IF = 0 a new HLT blocks');
});
