// x86-apf §8 host cases of the legacy eras (E0–E2) and the era table of §0.1 / §1.2.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { KVM_REQ_APF_HALT } from '../../src/abi/kvm_host.ts';
import * as para from '../../src/abi/kvm_para.ts';
import { kvm_pv_async_pf_enabled } from '../../src/host/x86/apf.ts';
import { bugSet } from '../../src/host/x86/bugs.ts';
import { type ERA_NAMES, eraConfig, hostBehaviour } from '../../src/host/x86/era.ts';
import { loadScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import { A, ApfFixture } from '../test_utils/apf_fixture.ts';

const { MSR_KVM_ASYNC_PF_EN: EN, MSR_KVM_ASYNC_PF_INT: INT, MSR_KVM_ASYNC_PF_ACK: ACK } = para;
const G = 0x300;

test('x86-apf §1.2: the reserved-bit mask per era (0x3e, 0x3c, 0x38, 0x30) and P-EN per era', () => {
  const mask = (e: (typeof ERA_NAMES)[number]) => eraConfig(e).reservedMask;
  assert.equal(mask('2010'), 0x3e);
  assert.equal(mask('2.6.38'), 0x3c);
  assert.equal(mask('4.14'), 0x3c);
  assert.equal(mask('4.15'), 0x38);
  assert.equal(mask('5.7'), 0x38);
  for (const e of ['5.8', '6.8', '6.17', '6.18', '2026'] as const) assert.equal(mask(e), 0x30);
  assert.equal(eraConfig('5.7').pvEnabledMask, 0x1);
  assert.equal(eraConfig('5.8').pvEnabledMask, 0x9);
  assert.equal(eraConfig('4.19').hvaCacheLen, 4);
  assert.equal(eraConfig('5.8').hvaCacheLen, 8);
  assert.equal(eraConfig('6.18').pvMsrUnsupported, true);
  assert.equal(hostBehaviour('6.18', 0, false).pvMsrUnsupported, false, 'the backport is an explicit option');
  assert.equal(hostBehaviour('6.18', bugSet(['cr0pg-clears-queue'])).cr0PgClearsQueue, true);
});

test('x86-apf §8 case 25: a 4.15–5.7 host: EN = A|0x9 → #GP (bit 3 reserved); A|0x5 → ok', () => {
  const f = new ApfFixture({ era: '4.19' });
  assert.equal(f.wrmsr(EN, A | 0x9), '#GP');
  assert.equal(f.wrmsr(EN, A | 0x5), 'ok');
});

test('x86-apf §8 case 26: a 2.6.38–4.14 host: EN = A|0x5 → #GP (mask 0x3c); A|0x3 → ok', () => {
  for (const era of ['2.6.38', '4.14'] as const) {
    const f = new ApfFixture({ era });
    assert.equal(f.wrmsr(EN, A | 0x5), '#GP');
    assert.equal(f.wrmsr(EN, A | 0x3), 'ok');
  }
  assert.equal(
    new ApfFixture({ era: '2010' }).wrmsr(EN, A | 0x3),
    '#GP',
    'the first postings reserved bit 1 too',
  );
});

test('x86-apf §8 case 30 (pre-6f3c1fc53d86): the first token on vCPU 0 is 0x0', () => {
  const f = new ApfFixture({ era: '6.17', bugs: ['token-zero'] });
  f.enabledPv();
  f.evict(G);
  f.fault(G * 4096);
  f.enter();
  assert.equal(f.vcpu.cr2, 0);
});

test('x86-apf §8 case 50: a 4.19 host sends page-ready (#PF, reason 2) for a halt-path work too', () => {
  const f = new ApfFixture({ era: '4.19' });
  f.wrmsr(EN, A | 0x1); // no SEND_ALWAYS
  f.enter(); // the wakeup-all #PF (reason 2)
  f.setU32(A, 0);
  f.delivered.length = 0;
  f.vcpu.cpl = 0;
  f.evict(G);
  f.fault(G * 4096);
  assert.ok((f.vcpu.requests & KVM_REQ_APF_HALT) !== 0, 'CPL 0 without SEND_ALWAYS halts');
  f.enter();
  f.complete();
  f.vcpu.apf.halted = false;
  f.vcpu.rflags_if = true;
  f.enter();
  assert.deepEqual(f.delivered, [{ kind: 'exception', vector: 14, errorCode: 0, cr2: 0x1000 }]);
  assert.equal(f.u32(A), para.KVM_PV_REASON_PAGE_READY);
});

test('x86-apf §8 case 74: legacy completion: reason := 2 and #PF with CR2 = token; held while IF = 0 or an exception is pending', () => {
  const f = new ApfFixture({ era: '4.19' });
  f.wrmsr(EN, A | 0x1);
  f.enter();
  f.setU32(A, 0);
  f.evict(G);
  f.fault(G * 4096); // 'not present' #PF queued
  f.enter();
  f.setU32(A, 0);
  f.delivered.length = 0;
  f.complete();
  f.vcpu.rflags_if = false;
  f.enter();
  assert.deepEqual(f.delivered, [], 'IF = 0: not dequeued');
  f.vcpu.rflags_if = true;
  f.vcpu.exception.pending = true; // something else pending
  f.vcpu.exception.vector = 13;
  f.enter(); // delivers the #GP only
  assert.equal(f.u32(A), 0);
  f.vcpu.rflags_if = true;
  f.enter();
  assert.equal(f.u32(A), para.KVM_PV_REASON_PAGE_READY);
  assert.deepEqual(f.delivered.at(-1), { kind: 'exception', vector: 14, errorCode: 0, cr2: 0x1000 });
});

test('x86-apf §8 case 75 (4.15–5.7 #DF fix): reason 1 unconsumed with a #PF pending → both cancelled', () => {
  const f = new ApfFixture({ era: '4.19', bugs: ['df-fix-drops-unrelated'] });
  f.wrmsr(EN, A | 0x1);
  f.enter();
  f.setU32(A, 0);
  f.evict(G);
  f.fault(G * 4096);
  f.enter();
  f.setU32(A, 0);
  f.complete(); // A is done
  f.vcpu.rflags_if = true;
  f.delivered.length = 0;
  f.evict(G + 1);
  f.fault((G + 1) * 4096); // B's 'not present': reason = 1, #PF pending
  assert.equal(f.u32(A), 1);
  f.enter(); // polled completion presents A while B's #PF is pending
  assert.equal(f.u32(A), 0, 'reason cleared');
  assert.deepEqual(f.delivered, [], 'neither event is delivered');
});

test('x86-apf §8 case 78 (host side): a ≤5.7 host with EN = pa|1 injects only at CPL ≠ 0; at CPL 0 it halts', () => {
  const f = new ApfFixture({ era: '4.19' });
  f.wrmsr(EN, A | 0x1);
  f.enter();
  f.vcpu.rflags_if = true;
  f.vcpu.cpl = 0;
  f.evict(G);
  f.fault(G * 4096);
  assert.ok((f.vcpu.requests & KVM_REQ_APF_HALT) !== 0);
  f.vcpu.requests = 0;
  f.vcpu.cpl = 3;
  f.evict(G + 1);
  f.fault((G + 1) * 4096);
  assert.equal(f.vcpu.exception.pending, true);
});

test('x86-apf §8 case 79 (host side): a 6.17 host accepts EN = pa|1 but pv stays disabled: halts, no #PF', () => {
  const f = new ApfFixture({ era: '6.17' });
  assert.equal(f.wrmsr(EN, A | 0x1), 'ok');
  assert.equal(kvm_pv_async_pf_enabled(f.vm, f.vcpu), false);
  f.evict(G);
  f.fault(G * 4096);
  f.enter();
  assert.equal(f.vcpu.apf.halted, true);
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §8 case 81: the legacy kvm-unit-tests (EN without bit 3) sees no APF event on a ≥5.8 host', () => {
  const f = new ApfFixture({ era: '6.18' });
  f.vcpu.cpl = 0;
  assert.equal(f.wrmsr(EN, A | 0x3), 'ok');
  f.settle();
  f.evict(G);
  f.fault(G * 4096);
  f.settle();
  assert.deepEqual(f.delivered, []);
});

test('x86-apf §5.1: INT and ACK do not exist before 5.8 (#GP, and KVM_SET_MSRS rejects them)', () => {
  const f = new ApfFixture({ era: '5.7' });
  assert.equal(f.wrmsr(INT, 0xf3), '#GP');
  assert.equal(f.wrmsr(ACK, 1), '#GP');
  assert.equal(f.rdmsr(ACK), '#GP');
});

test('x86-apf §8 case 74 end to end: examples/legacy/apf-4.19.yaml', () => {
  const t = runScript(loadScript(join(import.meta.dirname, '../../examples/legacy/apf-4.19.yaml'))).records;
  const pf = t.flatMap((r) => ('event' in r && r.event === '#PF' ? [`${r.cr2}/${r.flags}`] : []));
  assert.deepEqual(pf, ['0xffffffff/0x2', '0x1000/0x1', '0x1000/0x2']);
  assert.deepEqual(t.at(-1), { op: 6, kind: 'wrmsr', result: '#GP' });
});
