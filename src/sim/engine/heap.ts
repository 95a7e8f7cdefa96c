// The event queue: a binary min-heap over two typed arrays, keyed by (time, sequence).
//
// Why this shape:
// - No object per event. A simulation of millions of events would otherwise spend its time in the
//   allocator and the GC; here an event is two adjacent doubles (time, sequence) in one array and an
//   int32 payload in another. Keeping time and sequence side by side (rather than in two arrays, the
//   first layout) made the des.c reproduction ~10% faster: each level of a sift touches one cache line.
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
  /**
   * The keys, heap-ordered: event i's time at [2i] and push counter at [2i + 1]. One array, so a sift
   * reads a child's time and sequence from the same cache line. The sequence is a Float64 (not BigInt,
   * not Uint32): exact up to 2^53 pushes, and comparing two doubles is as cheap as comparing two ints.
   */
  private keys: Float64Array;
  /** Payloads, in the same heap order as `keys`. */
  private payloads: Int32Array;
  private n = 0;
  private nextSeq = 0;
  /** The time of the event returned by the most recent `pop()` (NaN before the first pop). */
  lastTime = Number.NaN;

  constructor(capacity = DEFAULT_CAPACITY) {
    const cap = Math.max(1, capacity | 0);
    this.keys = new Float64Array(2 * cap);
    this.payloads = new Int32Array(cap);
  }

  /** Number of queued events. */
  get size(): number {
    return this.n;
  }

  /** Current capacity (grows by doubling on demand). */
  get capacity(): number {
    return this.payloads.length;
  }

  /** Time of the earliest event, or +Infinity when empty (so `peekTime() <= horizon` needs no size check). */
  peekTime(): number {
    return this.n > 0 ? this.keys[0]! : Number.POSITIVE_INFINITY;
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
    if (i === this.payloads.length) this.grow();
    this.n = i + 1;
    const seq = this.nextSeq++;
    const keys = this.keys;
    const payloads = this.payloads;
    // Sift the hole up. The new key has the largest seq so far, so on equal time it never moves above
    // its parent: a strict `time < parentTime` is the whole (time, seq) comparison here.
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = keys[2 * parent]!;
      if (!(time < pt)) break;
      keys[2 * i] = pt;
      keys[2 * i + 1] = keys[2 * parent + 1]!;
      payloads[i] = payloads[parent]!;
      i = parent;
    }
    keys[2 * i] = time;
    keys[2 * i + 1] = seq;
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
    const keys = this.keys;
    const payloads = this.payloads;
    const top = payloads[0]!;
    this.lastTime = keys[0]!;
    const last = n - 1;
    this.n = last;
    if (last === 0) return top;
    // Sift the last element down from the root.
    const t = keys[2 * last]!;
    const s = keys[2 * last + 1]!;
    const p = payloads[last]!;
    const half = last >> 1;
    let i = 0;
    while (i < half) {
      let c = 2 * i + 1;
      let ct = keys[2 * c]!;
      let cs = keys[2 * c + 1]!;
      const r = c + 1;
      if (r < last) {
        const rt = keys[2 * r]!;
        if (rt < ct || (rt === ct && keys[2 * r + 1]! < cs)) {
          c = r;
          ct = rt;
          cs = keys[2 * r + 1]!;
        }
      }
      if (t < ct || (t === ct && s < cs)) break;
      keys[2 * i] = ct;
      keys[2 * i + 1] = cs;
      payloads[i] = payloads[c]!;
      i = c;
    }
    keys[2 * i] = t;
    keys[2 * i + 1] = s;
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
    const cap = this.payloads.length * 2;
    const keys = new Float64Array(2 * cap);
    const payloads = new Int32Array(cap);
    keys.set(this.keys);
    payloads.set(this.payloads);
    this.keys = keys;
    this.payloads = payloads;
  }
}
