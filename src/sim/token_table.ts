// Per-vCPU bookkeeping of completed async page faults until the guest is told: the token, when the
// worker completed it (async_pf_execute), when the host dequeued it (kvm_async_pf_ready) and whether it
// waited behind a busy page-ready slot. It is what turns completions, dequeues and guest wakes into the
// page-ready latency histograms. A small fixed table per vCPU, searched linearly: a vCPU has at most 64
// works outstanding, and only those between completion and wake are here.

export const TOKEN_CAP = 96;

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
  /** Entries dropped because a vCPU's table was full (tokens the guest was never told about). */
  dropped = 0;

  constructor(nvcpus: number) {
    const n = nvcpus * TOKEN_CAP;
    this.token = new Uint32Array(n);
    this.tDone = new Float64Array(n);
    this.tDeq = new Float64Array(n);
    this.flags = new Uint8Array(n);
    this.used = new Int32Array(nvcpus);
  }

  /** Records a completion; returns its index. A full table drops its oldest entry. */
  add(g: number, token: number, t: number, flags: number): number {
    const base = g * TOKEN_CAP;
    let slot = -1;
    if (this.used[g]! < TOKEN_CAP) {
      for (let i = base; i < base + TOKEN_CAP; i++)
        if (this.flags[i] === 0) {
          slot = i;
          break;
        }
      this.used[g]!++;
    } else {
      slot = base;
      for (let i = base + 1; i < base + TOKEN_CAP; i++) if (this.tDone[i]! < this.tDone[slot]!) slot = i;
      this.dropped++;
    }
    this.token[slot] = token;
    this.tDone[slot] = t;
    this.tDeq[slot] = -1;
    this.flags[slot] = flags | TF_USED;
    return slot;
  }

  /** The entry of `token` on vCPU g, or -1. */
  find(g: number, token: number): number {
    if (this.used[g] === 0) return -1;
    const base = g * TOKEN_CAP;
    for (let i = base; i < base + TOKEN_CAP; i++)
      if (this.flags[i] !== 0 && this.token[i] === token) return i;
    return -1;
  }

  free(g: number, i: number): void {
    this.flags[i] = 0;
    this.used[g]!--;
  }
}
