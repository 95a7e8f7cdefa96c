import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  copyLinuxGuestState,
  decodeLinuxGuest,
  encodeLinuxGuest,
  linuxGuestEncodedWords,
} from '../../../../src/guest/x86/linux/encode.ts';
import {
  kvm_async_pf_queue_task,
  kvm_async_pf_task_wake,
} from '../../../../src/guest/x86/linux/sleep_table.ts';
import { EXC_NONE, type LinuxGuestState, newLinuxGuestState } from '../../../../src/guest/x86/linux/state.ts';
import { GuestMemory } from '../../../../src/mem/guest_memory.ts';
import { host_page_evict } from '../../../../src/mem/page_state.ts';
import { computeForever, LinuxHarness } from './test_harness.ts';

const encode = (st: LinuxGuestState, mem: GuestMemory): Int32Array => {
  const out = new Int32Array(linuxGuestEncodedWords(st));
  encodeLinuxGuest(st, mem, out);
  return out;
};

test('encode: decode(encode(s)) encodes to the same words at every step of a fault round trip', () => {
  const h = new LinuxHarness({
    vcpus: 2,
    tasks: [
      [
        { kind: 'touch', gpa: 0x300000, write: true },
        { kind: 'compute', ns: 3.5 },
      ],
      [{ kind: 'compute', ns: 1 }],
    ],
  });
  host_page_evict(h.vm.mem.pageState, 0x300);
  const scratchMem = new GuestMemory(h.vm.mem.size);
  const scratch = newLinuxGuestState(h.state.config, h.state.ncpus);
  const check = (): void => {
    const a = encode(h.state, h.vm.mem);
    decodeLinuxGuest(a, 0, scratch, scratchMem);
    assert.deepEqual(encode(scratch, scratchMem), a);
  };
  let steps = 0;
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 200; i++) {
      check();
      if (h.step(0) === 0 && h.step(1) === 0) break;
      steps++;
    }
    h.completeWorks();
  }
  check();
  assert.ok(steps > 20);
  assert.equal(h.state.task.touches[0], 1);
});

test('encode: which pool slot a dummy took does not show (canonical sleep table)', () => {
  const cfg = newLinuxGuestState(new LinuxHarness().state.config, 1).config;
  const mem = new GuestMemory(1 << 20);
  const a = newLinuxGuestState(cfg, 1);
  const b = newLinuxGuestState(cfg, 1);
  const wake = (): void => {};
  kvm_async_pf_task_wake(a.sleepers, 0x1000, 0, wake);
  kvm_async_pf_task_wake(a.sleepers, 0x2000, 0, wake);
  kvm_async_pf_task_wake(b.sleepers, 0x7000, 0, wake);
  kvm_async_pf_task_wake(b.sleepers, 0x1000, 0, wake);
  kvm_async_pf_queue_task(b.sleepers, 0x7000, 0, 0); // consumes the first dummy
  kvm_async_pf_task_wake(b.sleepers, 0x2000, 0, wake); // reuses its slot
  assert.notDeepEqual(Array.from(a.sleepers.token), Array.from(b.sleepers.token));
  assert.deepEqual(encode(a, mem), encode(b, mem));
});

test('encode: registers of an empty frame and statistics are not part of the state', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 1 });
  h.runUntil(() => h.inUser(0, 0));
  const a = encode(h.state, h.vm.mem);
  assert.equal(h.state.cpu.excPc[0], EXC_NONE);
  h.state.cpu.excToken[0] = 0xdead;
  h.state.cpu.contextSwitches[0] = 99;
  h.state.counters.acks = 42;
  assert.deepEqual(encode(h.state, h.vm.mem), a);
  h.state.cpu.needResched[0] = 1;
  assert.notDeepEqual(encode(h.state, h.vm.mem), a);
});

test('encode: copyLinuxGuestState makes an equal, independent state the guest can run on', () => {
  const h = new LinuxHarness({ program: computeForever, nTasks: 2 });
  h.runUntil(() => h.inUser(0, 1) || h.inUser(0, 0));
  const copy = newLinuxGuestState(h.state.config, 1);
  copyLinuxGuestState(h.state, copy);
  assert.deepEqual(encode(copy, h.vm.mem), encode(h.state, h.vm.mem));
  const before = encode(h.state, h.vm.mem);
  const original = h.guest.state;
  h.guest.state = copy; // the explorer's way: point the guest at a scratch state
  h.step();
  h.guest.state = original;
  assert.deepEqual(encode(h.state, h.vm.mem), before, 'the original is untouched');
  assert.notDeepEqual(encode(copy, h.vm.mem), before);
});

test('encode: a legacy halted wait (node, saved context, the halted bit) survives decode(encode(s))', () => {
  const h = new LinuxHarness({
    era: '4.19',
    guest: { kind: 'linux-4.19' },
    tasks: [[{ kind: 'compute', ns: 1 }]],
  });
  h.boot();
  h.injectPageFault(0, 0x1000); // into the idle task: a halted wait on CPU 0's idle node
  h.step();
  h.step();
  assert.ok(h.state.cpu.haltNode[0]! >= 0);
  const a = encode(h.state, h.vm.mem);
  const scratchMem = new GuestMemory(h.vm.mem.size);
  const scratch = newLinuxGuestState(h.state.config, 1);
  decodeLinuxGuest(a, 0, scratch, scratchMem);
  assert.equal(scratch.cpu.haltNode[0], h.state.cpu.haltNode[0]);
  assert.equal(scratch.sleepers.halted[h.state.cpu.haltNode[0]!], 1);
  assert.deepEqual(encode(scratch, scratchMem), a);
  h.state.sleepers.halted[h.state.cpu.haltNode[0]!] = 0;
  assert.notDeepEqual(encode(h.state, h.vm.mem), a, 'halted is part of the state');
});
