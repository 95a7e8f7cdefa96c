import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delayMs } from '../../src/oracle/delay.ts';
import type { HostFingerprint } from '../../src/oracle/fingerprint.ts';
import { eraOfKernel } from '../../src/oracle/fingerprint.ts';
import { GuestApfView, handlerConfig, readableArea } from '../../src/oracle/guest_knowledge.ts';
import { protocol as P } from '../../src/oracle/guests/blobs.ts';
import { planKvmRun } from '../../src/oracle/plan.ts';
import { ScriptSchema } from '../../src/script/schema.ts';

const pvm: HostFingerprint = {
  kernel: '6.18.44-fc-v657',
  vendor: 'kvm_pvm',
  era: '6.18',
  mmu: 'shadow',
  supportedKvmFeatures: '0x1007efb',
  caps: { KVM_CAP_MAX_VCPUS: 1024, KVM_CAP_X86_DISABLE_EXITS: 14 },
  device: '/dev/kvm',
};
const vmx: HostFingerprint = { ...pvm, vendor: 'kvm_intel', mmu: 'tdp' };
const script = (s: object) => ScriptSchema.parse({ kind: 'script', ...s });
const msrOps = [{ op: 'wrmsr', msr: 'MSR_KVM_ASYNC_PF_EN', value: 0x3009 }];

test('scripts without touch run on the real-mode guest, scripts with touch on the long-mode guest', () => {
  const real = planKvmRun(script({ ops: msrOps }), pvm);
  assert.ok(real.run && real.guest === 'real');
  assert.match(real.run ? real.notes.join() : '', /guest_mode is long/);
  const long = planKvmRun(script({ vm: { memory: '2MiB' }, ops: [{ op: 'touch', gpa: 0x100000 }] }), pvm);
  assert.ok(long.run && long.guest === 'long');
});

test('kvm_pvm cannot show a CPL0 async PF; a VMX host can', () => {
  const s = script({
    vm: { memory: '2MiB' },
    ops: [{ op: 'touch', gpa: 0x100000, cpl: 0, backing: { delay: '1ms' } }],
  });
  const p = planKvmRun(s, pvm);
  assert.ok(!p.run && /CPL0 async PF/.test(p.reason));
  assert.ok(planKvmRun(s, vmx).run);
});

test('skips: protected state, foreign era, unimplemented ops, the guests private hole, accesses past RAM', () => {
  const reason = (s: object) => {
    const p = planKvmRun(script(s), pvm);
    return p.run ? '' : p.reason;
  };
  assert.match(reason({ vm: { protected_state: true }, ops: msrOps }), /protected_state/);
  assert.match(reason({ era: '6.17', ops: msrOps }), /era 6\.17: .* differs in .*pvMsrUnsupported/);
  assert.match(reason({ bugs: ['token-zero'], ops: msrOps }), /with token-zero: .*differs in tokenNonZero/);
  assert.match(reason({ vm: { pv_msr_unsupported: false }, ops: msrOps }), /pvMsrUnsupported/);
  assert.match(reason({ ops: [{ op: 'smi' }] }), /SMM/);
  assert.match(reason({ ops: [{ op: 'init' }] }), /INIT/);
  assert.match(reason({ ops: [{ op: 'set_cr0_pg', value: false }] }), /paging only in long mode/);
  assert.match(
    reason({ vm: { memory: '1MiB' }, ops: [{ op: 'read_mem', gpa: P.PRIV_BASE, size: 4 }] }),
    /use for themselves/,
  );
  assert.match(
    reason({ ops: [{ op: 'wrmsr', msr: 'MSR_KVM_ASYNC_PF_EN', value: P.PRIV_BASE + 9 }] }),
    /points into/,
  );
  assert.match(reason({ ops: [{ op: 'write_mem', gpa: 0x10000, size: 4, value: 1 }] }), /not in RAM/);
  assert.match(reason({ vm: { vcpus: 2 }, ops: [{ op: 'sti', vcpu: 2 }] }), /names vCPU 2/);
  assert.match(
    reason({ ops: [{ op: 'touch', gpa: 0x1000, cpl: 3 }], vm: { guest_mode: 'real' } }),
    /CPL3 touch needs paging/,
  );
});

test('scripts with the Linux guest, and its CPU hotplug ops, are skipped: the kvm guests are op interpreters', () => {
  const linux = planKvmRun(
    script({
      vm: { memory: '4MiB' },
      guest: { kind: 'linux-6.x', tasks: [{ program: [{ compute: '1ms' }] }] },
      ops: [{ op: 'run' }],
    }),
    pvm,
  );
  assert.ok(!linux.run && /guest: linux-6\.x: the Linux guest is a model of its own/.test(linux.reason));
  const hotplug = planKvmRun(script({ ops: [{ op: 'cpu_offline' }] }), pvm);
  assert.ok(!hotplug.run && /CPU hotplug/.test(hotplug.reason));
});

test('era 2026 with en-commit-before-validate is this 6.18 kernel', () => {
  assert.ok(planKvmRun(script({ era: '2026', bugs: ['en-commit-before-validate'], ops: msrOps }), pvm).run);
});

test('an EN value just past RAM is fine: KVM rejects it as it would without the guests (kvm-oracle §3)', () => {
  assert.ok(
    planKvmRun(script({ ops: [{ op: 'wrmsr', msr: 'MSR_KVM_ASYNC_PF_EN', value: 0x10009 }] }), pvm).run,
  );
});

test('hlt_in_guest runs where KVM_CAP_X86_DISABLE_EXITS offers HLT', () => {
  assert.ok(planKvmRun(script({ vm: { hlt_in_guest: true }, ops: msrOps }), pvm).run);
  const none = { ...pvm, caps: { ...pvm.caps, KVM_CAP_X86_DISABLE_EXITS: 0 } };
  assert.ok(!planKvmRun(script({ vm: { hlt_in_guest: true }, ops: msrOps }), none).run);
});

test('the guest reads the area of the last non-zero EN written, when it lies in RAM', () => {
  assert.equal(readableArea(0x3009n, 0x10000), 0x3000n);
  assert.equal(readableArea(0xffc9n, 0x10000), 0xffc0n);
  assert.equal(readableArea(0x10009n, 0x10000), null);
  assert.equal(readableArea(0xfff0000000003009n, 0x10000), 0x3000n); // bits 51:6, as the model's guest
  const view = new GuestApfView(0x10000);
  view.noteWrite(0x4b564d06, 0x1ecn);
  assert.equal(view.prVector, 0xec);
  view.noteWrite(0x4b564d02, 0x3009n);
  view.noteWrite(0x4b564d02, 0n); // a disable keeps the area
  assert.equal(view.area, 0x3000n);
});

test('handler options become the HF_* bits', () => {
  const h = script({
    ops: msrOps,
    handlers: { page_ready: { ack: false }, page_fault: { wait_for_ready: false } },
  }).handlers;
  const c = handlerConfig(h);
  assert.equal(c.flags, P.HF_CLEAR_TOKEN | P.HF_EOI_LAST | P.HF_CLEAR_FLAGS);
  const linux = script({ ops: msrOps, handlers: { page_ready: { eoi: 'first' } } }).handlers;
  assert.equal(
    handlerConfig(linux, ['ack-before-clear']).flags &
      (P.HF_EOI_FIRST | P.HF_EOI_LAST | P.HF_ACK_BEFORE_CLEAR),
    P.HF_EOI_FIRST | P.HF_ACK_BEFORE_CLEAR,
  );
  assert.equal(handlerConfig(script({ ops: msrOps }).handlers).ackValue, 1n);
});

test('delays: units, and bare integers as nanoseconds', () => {
  assert.equal(delayMs('20ms'), 20);
  assert.equal(delayMs('1.5 s'), 1500);
  assert.equal(delayMs('250us'), 0.25);
  assert.equal(delayMs(2_000_000), 2);
});

test('kernel versions map to eras', () => {
  assert.equal(eraOfKernel('6.18.44-fc-v657'), '6.18');
  assert.equal(eraOfKernel('6.12.3'), '6.10'); // the MMU eras (docs/mmu.md) sit between the APF ones
  assert.equal(eraOfKernel('6.9.1'), '6.9');
  assert.equal(eraOfKernel('5.4.0'), '5.2'); // 5.2: kvm_vcpu_map; async PF as 4.19
  assert.equal(eraOfKernel('5.1.15'), '4.19');
  assert.equal(eraOfKernel('2.6.32'), null);
});

test('host memory operations: host_dontneed runs (in RAM, out of the hole); the others are skipped', () => {
  const mm = (ops: object[]) => script({ vm: { memory: '1MiB', mmu_notifiers: true }, ops });
  const touch = { op: 'touch', gpa: 0x1000 };
  const dontneed = planKvmRun(mm([touch, { op: 'host_dontneed', gpa: 0x1000 }, touch]), pvm);
  assert.ok(dontneed.run && dontneed.guest === 'long');
  const ksm = planKvmRun(mm([touch, { op: 'host_ksm_merge', gpas: [0x2000, 0x1000] }]), pvm);
  assert.ok(!ksm.run && /op 1 \(host_ksm_merge\): .*host_dontneed only/.test(ksm.reason));
  const hole = planKvmRun(mm([touch, { op: 'host_dontneed', gpa: P.PRIV_BASE, pages: 2 }]), pvm);
  assert.ok(!hole.run && /use for themselves/.test(hole.reason));
});

test('guest-mapping ops are skipped: kvm_vcpu_map is unreachable under kvm_pvm (mmu §G)', () => {
  const plan = planKvmRun(
    script({ vm: { maps: {} }, ops: [{ op: 'vcpu_map', caller: 'vmcs12', gpa: 0x1000 }] }),
    pvm,
  );
  assert.ok(!plan.run && /kvm_vcpu_map is not reachable here/.test(plan.reason));
});
