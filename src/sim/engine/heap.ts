// The event queue: a binary min-heap over parallel typed arrays, keyed by (time, sequence).
//
// Why this shape:
// - No object per event. A simulation of millions of events would otherwise spend its time in the
//   allocator and the GC; here an event is three slots in three typed arrays (time, sequence, payload).
// - The sequence number is a push counter, so events with equal times pop in push order (FIFO). Pushes
//   happen in causal order, hence equal-time events are handled in causal order too, and the pop order
//   is a pure function of the push order: no dependence on heap layout or on how ties happen to fall.
//   Because every (time, seq) key is distinct, any correct heap yields the same pop sequence, which is
//   what lets the des.c reproduction match the C heap bit for bit.
// - Sifts move a "hole" instead of swapping (as des.c does), one write per level.
// - The class has a fixed set of fields with fixed types (the arrays are replaced only by arrays of the
//   same type when growing), so V8 keeps every call site monomorphic.
//
// The heap is unit-agnostic: the product uses nanoseconds, the des.c reproduction microseconds.

/** Initial capacity when none is given. Growth doubles. */
const DEFAULT_CAPACITY = 64;

export class EventHeap {
  /** Event times, heap-ordered together with `seqs` and `payloads`. */
  private times: Float64Array;
  /**
   * Push counters. Float64 (not BigInt, not Uint32): exact up to 2^53 pushes, and comparing two doubles
   * is as cheap as comparing two ints.
   */
  private seqs: Float64Array;
  private payloads: Int32Array;
  private n = 0;
  private nextSeq = 0;
  /** The time of the event returned by the most recent `pop()` (NaN before the first pop). */
  lastTime = Number.NaN;

  constructor(capacity = DEFAULT_CAPACITY) {
    const cap = Math.max(1, capacity | 0);
    this.times = new Float64Array(cap);
    this.seqs = new Float64Array(cap);
    this.payloads = new Int32Array(cap);
  }

  /** Number of queued events. */
  get size(): number {
    return this.n;
  }

  /** Current capacity (grows by doubling on demand). */
  get capacity(): number {
    return this.times.length;
  }

  /** Time of the earliest event, or +Infinity when empty (so `peekTime() <= horizon` needs no size check). */
  peekTime(): number {
    return this.n > 0 ? this.times[0]! : Number.POSITIVE_INFINITY;
  }

  /** Payload of the earliest event, or -1 when empty. Does not remove it. */
  peekPayload(): number {
    return this.n > 0 ? this.payloads[0]! : -1;
  }

  /**
   * Queues `payload` (an int32) at `time`. Ties with already-queued events at the same time pop after
   * them. `time` must not be NaN (NaN compares false with everything and would corrupt the order); the
   * heap does not check, the caller's clock arithmetic must guarantee it.
   */
  push(time: number, payload: number): void {
    let i = this.n;
    if (i === this.times.length) this.grow();
    this.n = i + 1;
    const seq = this.nextSeq++;
    const times = this.times;
    const seqs = this.seqs;
    const payloads = this.payloads;
    // Sift the hole up. The new key has the largest seq so far, so on equal time it never moves above
    // its parent: a strict `time < parentTime` is the whole (time, seq) comparison here.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent]!;
      if (!(time < pt)) break;
      times[i] = pt;
      seqs[i] = seqs[parent]!;
      payloads[i] = payloads[parent]!;
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    payloads[i] = payload;
  }

  /**
   * Removes the earliest event (smallest time, then smallest sequence) and returns its payload; its time
   * is left in `lastTime`. Returns -1 (and leaves `lastTime` alone) when empty; callers that can reach an
   * empty heap should check `size` first, since -1 may be a legitimate payload.
   */
  pop(): number {
    const n = this.n;
    if (n === 0) return -1;
    const times = this.times;
    const seqs = this.seqs;
    const payloads = this.payloads;
    const top = payloads[0]!;
    this.lastTime = times[0]!;
    const last = n - 1;
    this.n = last;
    if (last === 0) return top;
    // Sift the last element down from the root.
    const t = times[last]!;
    const s = seqs[last]!;
    const p = payloads[last]!;
    const half = last >> 1;
    let i = 0;
    while (i < half) {
      let c = 2 * i + 1;
      let ct = times[c]!;
      let cs = seqs[c]!;
      const r = c + 1;
      if (r < last) {
        const rt = times[r]!;
        if (rt < ct || (rt === ct && seqs[r]! < cs)) {
          c = r;
          ct = rt;
          cs = seqs[r]!;
        }
      }
      if (t < ct || (t === ct && s < cs)) break;
      times[i] = ct;
      seqs[i] = cs;
      payloads[i] = payloads[c]!;
      i = c;
    }
    times[i] = t;
    seqs[i] = s;
    payloads[i] = p;
    return top;
  }

  /**
   * Drops all events. The sequence counter keeps counting (it is never reused), so FIFO order among
   * events pushed after a clear is unaffected, and `lastTime` is kept.
   */
  clear(): void {
    this.n = 0;
  }

  private grow(): void {
    const cap = this.times.length * 2;
    const times = new Float64Array(cap);
    const seqs = new Float64Array(cap);
    const payloads = new Int32Array(cap);
    times.set(this.times);
    seqs.set(this.seqs);
    payloads.set(this.payloads);
    this.times = times;
    this.seqs = seqs;
    this.payloads = payloads;
  }
}
