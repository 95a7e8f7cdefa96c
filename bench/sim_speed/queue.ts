// The calibration scenario's closed queue with no protocol at all, on the simulator's own engine: the
// ceiling `npm run bench sim-speed` divides by. 8 sources think for exp(100 µs) bursts; after each burst,
// with probability 0.25, a source faults: its page-in takes one of the 2 channels of the simulator's
// SwapDevice for exp(50 µs) (FIFO when both are busy) and the source thinks again when it is done. The
// same EventHeap, the same xoshiro128 streams and the same compiled exponential Dist the simulator uses;
// a fault is counted when it is submitted, as the simulator counts them.
//
//   node queue.cjs FAULTS   prints {"faults": …, "cpuS": …}
//
// test/bench/sim_speed_queue.test.ts checks it against the machine-repairman closed form, as
// test/sim/calibration.test.ts checks the simulator: the same queue, so the ratio measures the protocol.
import { compileDist } from '../../src/sim/engine/dist.ts';
import { EventHeap } from '../../src/sim/engine/heap.ts';
import { xoshiro128Stream } from '../../src/sim/engine/rng.ts';
import { SwapDevice } from '../../src/sim/swap_device.ts';

const SOURCES = 8;
const P_FAULT = 0.25;
const EV_THINK = 0;
const EV_IO = 1;

/** Runs the queue until `maxFaults` faults were submitted; returns them and the virtual time (ns) it took. */
export function runQueue(maxFaults: number): { faults: number; simNs: number } {
  const heap = new EventHeap(64);
  const burst = compileDist({ dist: 'exponential', mean: 100_000 });
  const swap = new SwapDevice(
    2,
    compileDist({ dist: 'exponential', mean: 50_000 }),
    xoshiro128Stream(1, 'swap'),
  );
  const rngs = Array.from({ length: SOURCES }, (_, i) => xoshiro128Stream(1, `task${i}`));
  const channel = new Int32Array(SOURCES);
  let faults = 0;
  const startIo = (now: number, src: number): void => {
    channel[src] = swap.start(now);
    heap.push(now + swap.serviceTime(), (src << 1) | EV_IO);
  };
  for (let i = 0; i < SOURCES; i++) heap.push(burst.sample(rngs[i]!), (i << 1) | EV_THINK);
  let now = 0;
  while (faults < maxFaults) {
    const p = heap.pop();
    now = heap.lastTime;
    const src = p >> 1;
    if ((p & 1) === EV_THINK) {
      const rng = rngs[src]!;
      if (rng.next() < P_FAULT) {
        faults++;
        if (swap.canStart()) startIo(now, src);
        else swap.enqueue(now, src);
      } else heap.push(now + burst.sample(rng), (src << 1) | EV_THINK);
    } else {
      swap.release(now, channel[src]!);
      const next = swap.dequeue(now);
      if (next >= 0) startIo(now, next);
      heap.push(now + burst.sample(rngs[src]!), (src << 1) | EV_THINK);
    }
  }
  return { faults, simNs: now };
}

// As a script (the bench runs its bundle with the fault count): one timed run.
if (process.argv[1] !== undefined && /queue\.(c?js|ts)$/.test(process.argv[1])) {
  const c0 = process.cpuUsage();
  const { faults } = runQueue(Number(process.argv[2]));
  const c = process.cpuUsage(c0);
  process.stdout.write(`${JSON.stringify({ faults, cpuS: (c.user + c.system) / 1e6 })}\n`);
}
