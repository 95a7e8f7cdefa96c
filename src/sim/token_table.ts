// Per-vCPU bookkeeping of completed async page faults until the guest is told: the token, when the
// worker completed it (async_pf_execute), when the host dequeued it (kvm_async_pf_ready) and whether it
// waited behind a busy page-ready slot. It is what turns completions, dequeues and guest wakes into the
// page-ready latency histograms.
//
// An open-addressing table of 128 entries per vCPU keyed by the token's counter bits (alloc_apf_token:
// id << 12 | vcpu_id, and ids are consecutive), so a lookup is one probe in practice. A vCPU has at most
// 64 works outstanding, and only those between completion and wake are here; if a table ever fills
// (tokens the guest is never told about), the entry at the home slot is overwritten and counted.

const CAP = 128;
const MASK = CAP - 1;

export const TF_USED = 1;
/** At completion the page-ready slot (apf_reason.token, or the legacy reason) was still occupied. */
export const TF_SLOT_BUSY = 2;
/** The 'not present' was injected: the guest will be told (else the dequeue ends an artificial halt). */
export const TF_INJECTED = 4;
export const TF_DEQUEUED = 8;

export class TokenTable {
  readonly token: Uint32Array;
  readonly tDone: Float64Array;
  readonly tDeq: Float64Array;
  readonly flags: Uint8Array;
  private readonly used: Int32Array;
  /** Entries overwritten because a vCPU's table was full. */
  dropped = 0;

  constructor(nvcpus: number) {
    const n = nvcpus * CAP;
    this.token = new Uint32Array(n);
    this.tDone = new Float64Array(n);
    this.tDeq = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.used = new Int32Array(nvcpus);
  }

  private home(g: number, token: number): number {
    return g * CAP + ((token >>> 12) & MASK);
  }

  /** Records a completion; returns its index. */
  add(g: number, token: number, t: number, flags: number): number {
    const base = g * CAP;
    let i = this.home(g, token);
    if (this.used[g]! >= CAP - 1) {
      // Full: give up the entry at the home slot (it is the oldest with this slot's token bits).
      this.dropped++;
      this.free(g, i);
    }
    while (this.flags[i] !== 0) {
      if (this.token[i] === token) {
        // The same token again (the host reused it): replace.
        this.used[g]!--;
        break;
      }
      i = base + ((i - base + 1) & MASK);
    }
    this.token[i] = token;
    this.tDone[i] = t;
    this.tDeq[i] = -1;
    this.flags[i] = flags | TF_USED;
    this.used[g]!++;
    return i;
  }

  /** The entry of `token` on vCPU g, or -1. */
  find(g: number, token: number): number {
    if (this.used[g] === 0) return -1;
    const base = g * CAP;
    let i = this.home(g, token);
    for (let n = 0; n < CAP; n++) {
      if (this.flags[i] === 0) return -1;
      if (this.token[i] === token) return i;
      i = base + ((i - base + 1) & MASK);
    }
    return -1;
  }

  /** Removes entry i (backward-shift deletion keeps every probe chain unbroken). */
  free(g: number, i: number): void {
    const base = g * CAP;
    this.flags[i] = 0;
    this.used[g]!--;
    let hole = i;
    let j = base + ((i - base + 1) & MASK);
    while (this.flags[j] !== 0) {
      const h = this.home(g, this.token[j]!);
      // Move j into the hole if its home is not in (hole, j] cyclically.
      const dj = (j - h + CAP) & MASK;
      const dh = (hole - h + CAP) & MASK;
      if (dh < dj) {
        this.token[hole] = this.token[j]!;
        this.tDone[hole] = this.tDone[j]!;
        this.tDeq[hole] = this.tDeq[j]!;
        this.flags[hole] = this.flags[j]!;
        this.flags[j] = 0;
        hole = j;
      }
      j = base + ((j - base + 1) & MASK);
    }
  }
}
