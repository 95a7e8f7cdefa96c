// `npm run bench sim-speed` divides the simulator's calibration throughput by a queue with no protocol
// (bench/sim_speed/queue.ts). That ratio measures the protocol's cost only if the queue is the same closed
// queue as the calibration scenario: 8 sources, exp(100 µs) bursts, a fault after a burst with p = 0.25,
// 2 channels of exp(50 µs). Like the simulator (test/sim/calibration.test.ts), it must reproduce the
// machine-repairman closed form.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runQueue } from '../../bench/sim_speed/queue.ts';
import { repairman } from '../sim/repairman.ts';

test('the no-protocol queue of bench sim-speed reproduces the calibration queue closed form', () => {
  const want = repairman(8, 2, 0.25 / 100e-6, 1 / 50e-6).throughput;
  const { faults, simNs } = runQueue(200_000);
  assert.equal(faults, 200_000);
  const got = faults / (simNs * 1e-9);
  assert.ok(Math.abs(got - want) / want < 0.02, `throughput ${got} vs ${want} faults/s`);
});

test('the queue is deterministic: the same faults take the same virtual time', () => {
  assert.deepEqual(runQueue(5_000), runQueue(5_000));
});
