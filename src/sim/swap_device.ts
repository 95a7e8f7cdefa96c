// The host's swap device: `channels` page-ins in service at once, each taking a sample of the latency
// distribution; requests beyond that wait in one FIFO. Every page-in of every VM goes through it — async
// workers, synchronous faults and prefaults of re-evicted pages alike — so VMs compete for it.
//
// The device only keeps the queue and its statistics; the simulator owns time and completion events
// (`start` returns the completion time, the simulator schedules it and calls `finish`).
import type { Dist } from './engine/dist.ts';
import type { Xoshiro128 } from './engine/rng.ts';

export class SwapDevice {
  busy = 0;
  private queue: Int32Array = new Int32Array(256);
  private qHead = 0;
  qLen = 0;
  /** Free channel numbers (a stack), for traces. */
  private readonly freeChannels: Int32Array;
  private nFree: number;
  // Statistics (time integrals are updated at every change).
  private lastT = 0;
  busyArea = 0;
  queueArea = 0;
  maxQueue = 0;
  started = 0;

  constructor(
    readonly channels: number,
    private readonly latency: Dist,
    private readonly rng: Xoshiro128,
  ) {
    this.freeChannels = new Int32Array(channels);
    for (let i = 0; i < channels; i++) this.freeChannels[i] = channels - 1 - i;
    this.nFree = channels;
  }

  private advance(now: number): void {
    const dt = now - this.lastT;
    if (dt > 0) {
      this.busyArea += this.busy * dt;
      this.queueArea += this.qLen * dt;
      this.lastT = now;
    }
  }

  /** A channel is free: the request can start now. */
  canStart(): boolean {
    return this.busy < this.channels;
  }

  /** Takes a free channel (canStart() must hold) and returns its number. */
  start(now: number): number {
    this.advance(now);
    this.busy++;
    this.started++;
    return this.freeChannels[--this.nFree]!;
  }

  /** A service time draw (one per started request, in start order). */
  serviceTime(): number {
    return this.latency.sample(this.rng);
  }

  enqueue(now: number, req: number): void {
    this.advance(now);
    if (this.qLen === this.queue.length) {
      const q = new Int32Array(this.queue.length * 2);
      for (let i = 0; i < this.qLen; i++) q[i] = this.queue[(this.qHead + i) % this.queue.length]!;
      this.queue = q;
      this.qHead = 0;
    }
    this.queue[(this.qHead + this.qLen) % this.queue.length] = req;
    this.qLen++;
    if (this.qLen > this.maxQueue) this.maxQueue = this.qLen;
  }

  /** The request on `channel` finished: the channel goes back (the caller then starts the queue head). */
  release(now: number, channel: number): void {
    this.advance(now);
    this.busy--;
    this.freeChannels[this.nFree++] = channel;
  }

  /** The queue head, or -1. */
  dequeue(now: number): number {
    if (this.qLen === 0) return -1;
    this.advance(now);
    const r = this.queue[this.qHead]!;
    this.qHead = (this.qHead + 1) % this.queue.length;
    this.qLen--;
    return r;
  }

  /** Brings the time integrals up to `now` (before reading them). */
  sync(now: number): void {
    this.advance(now);
  }
}
