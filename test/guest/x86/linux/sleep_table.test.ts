import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ALLOC_FAILED,
  apf_task_wake_all,
  CONSUMED_DUMMY,
  DUMMY_CREATED,
  forEachSleepNode,
  hash_32,
  KVM_TASK_SLEEP_HASHBITS,
  kvm_async_pf_queue_task,
  kvm_async_pf_task_wake,
  newSleepTable,
  QUEUED,
  sleeperUnhashed,
  WOKE,
  WOKE_ALL,
} from '../../../../src/guest/x86/linux/sleep_table.ts';

/** The hashed nodes as [token, cpu, task | -1] in canonical order. */
function nodes(t: ReturnType<typeof newSleepTable>): number[][] {
  const out: number[][] = [];
  forEachSleepNode(t, (_b, n) => out.push([t.token[n]!, t.cpu[n]!, n < t.nTaskNodes ? n : -1]));
  return out;
}

function recorder(): { woken: number[]; wake: (task: number) => void } {
  const woken: number[] = [];
  return { woken, wake: (task) => woken.push(task) };
}

// x86-apf §1.10 / §4.4: bucket = hash_32(token, 8), GOLDEN_RATIO_32 = 0x61C88647, top 8 bits.
test('x86-apf §4.4: bucket = hash_32(token, 8) with GOLDEN_RATIO_32', () => {
  assert.equal(KVM_TASK_SLEEP_HASHBITS, 8);
  assert.equal(hash_32(0, 8), 0);
  assert.equal(hash_32(1, 8), 0x61c88647 >>> 24);
  assert.equal(hash_32(0x1000, 8), (Math.imul(0x1000, 0x61c88647) >>> 0) >>> 24);
  assert.equal(hash_32(0xffffffff, 8), (Math.imul(-1, 0x61c88647) >>> 0) >>> 24);
});

test('x86-apf §4.4: a fault queues {token, cpu}; the matching wake unlinks and wakes it', () => {
  const t = newSleepTable(4, 2);
  const r = recorder();
  assert.equal(kvm_async_pf_queue_task(t, 0x1000, 2, 0), QUEUED);
  assert.deepEqual(nodes(t), [[0x1000, 0, 2]]);
  assert.equal(sleeperUnhashed(t, 2), false);
  assert.equal(kvm_async_pf_task_wake(t, 0x1000, 0, r.wake), WOKE);
  assert.deepEqual(r.woken, [2]);
  assert.equal(sleeperUnhashed(t, 2), true);
  assert.deepEqual(nodes(t), []);
});

// x86-apf §8 case 70 (sleep-table level): the wake comes first.
test('x86-apf §8 case 70: a wake with no sleeper inserts a dummy that the later fault consumes', () => {
  const t = newSleepTable(4, 2);
  const r = recorder();
  assert.equal(kvm_async_pf_task_wake(t, 0x2000, 1, r.wake), DUMMY_CREATED);
  assert.deepEqual(nodes(t), [[0x2000, 1, -1]]);
  assert.equal(kvm_async_pf_queue_task(t, 0x2000, 0, 1), CONSUMED_DUMMY);
  assert.deepEqual(nodes(t), []);
  assert.equal(t.dummiesCreated, 1);
  assert.equal(t.dummiesConsumed, 1);
  assert.equal(t.dummiesLeaked, 0);
  assert.deepEqual(r.woken, []);
});

// x86-apf §8 case 71 (sleep-table level).
test('x86-apf §8 case 71: wake-all unlinks and wakes only this CPU’s nodes; its dummies leak', () => {
  const t = newSleepTable(4, 4);
  const r = recorder();
  kvm_async_pf_queue_task(t, 0x1000, 0, 0);
  kvm_async_pf_queue_task(t, 0x2000, 1, 0);
  kvm_async_pf_queue_task(t, 0x3001, 2, 1);
  kvm_async_pf_task_wake(t, 0x4000, 0, r.wake); // dummy on CPU 0
  kvm_async_pf_task_wake(t, 0x4001, 1, r.wake); // dummy on CPU 1
  assert.equal(kvm_async_pf_task_wake(t, 0xffffffff, 0, r.wake), WOKE_ALL);
  assert.deepEqual(r.woken.sort(), [0, 1]);
  assert.deepEqual(nodes(t).sort(), [
    [0x3001, 1, 2],
    [0x4001, 1, -1],
  ]);
  assert.equal(t.dummiesLeaked, 1);
  assert.equal(t.dummiesCreated, 2, 'wake-all creates no dummy');
  // apf_task_wake_all directly (the offline path) does the same for CPU 1.
  apf_task_wake_all(t, 1, r.wake);
  assert.deepEqual(nodes(t), []);
  assert.equal(t.dummiesLeaked, 2);
});

test('x86-apf §4.4: a second wake for the same token unlinks the dummy without freeing it (leak)', () => {
  const t = newSleepTable(1, 2);
  const r = recorder();
  kvm_async_pf_task_wake(t, 0x5000, 0, r.wake);
  assert.equal(kvm_async_pf_task_wake(t, 0x5000, 0, r.wake), WOKE);
  assert.deepEqual(nodes(t), []);
  assert.equal(t.dummiesLeaked, 1);
  assert.deepEqual(r.woken, []);
});

test('x86-apf §4.4: an exhausted dummy pool is an allocation failure the caller retries', () => {
  const t = newSleepTable(1, 1);
  const r = recorder();
  assert.equal(kvm_async_pf_task_wake(t, 0x1000, 0, r.wake), DUMMY_CREATED);
  assert.equal(kvm_async_pf_task_wake(t, 0x2000, 0, r.wake), ALLOC_FAILED);
  assert.equal(t.dummyAllocFailures, 1);
  // The fault for 0x1000 frees the dummy; the retried wake then succeeds.
  assert.equal(kvm_async_pf_queue_task(t, 0x1000, 0, 0), CONSUMED_DUMMY);
  assert.equal(kvm_async_pf_task_wake(t, 0x2000, 0, r.wake), DUMMY_CREATED);
});

test('x86-apf §4.4: colliding tokens share a bucket, newest first (hlist_add_head)', () => {
  const t = newSleepTable(3, 0);
  // Find two tokens with the same bucket.
  const a = 0x1000;
  let b = 0x2000;
  while (hash_32(b, 8) !== hash_32(a, 8)) b += 0x1000;
  kvm_async_pf_queue_task(t, a, 0, 0);
  kvm_async_pf_queue_task(t, b, 1, 0);
  assert.deepEqual(nodes(t), [
    [b, 0, 1],
    [a, 0, 0],
  ]);
  const r = recorder();
  kvm_async_pf_task_wake(t, a, 0, r.wake);
  assert.deepEqual(r.woken, [0]);
  assert.deepEqual(nodes(t), [[b, 0, 1]]);
});

test('x86-apf §9 item 6: apf_task_wake_all leaks the dummies it unlinks; the hypothetical fix frees them', () => {
  for (const fixed of [false, true]) {
    const t = newSleepTable(2, 2, 1, fixed);
    const r = recorder();
    kvm_async_pf_task_wake(t, 0x1000, 0, r.wake); // a dummy
    kvm_async_pf_task_wake(t, 0x2000, 0, r.wake); // another
    kvm_async_pf_task_wake(t, 0x2000, 0, r.wake); // a second wake for it: wake_one leaks it, fix or not
    assert.equal(t.dummiesLeaked, 1);
    assert.equal(kvm_async_pf_task_wake(t, 0xffffffff, 0, r.wake), WOKE_ALL);
    assert.deepEqual(nodes(t), []);
    assert.equal(t.dummiesLeaked, fixed ? 1 : 2);
    assert.equal(t.dummiesFreedByWakeAll, fixed ? 1 : 0);
  }
});
