/**
 * Parent links for trace reconstruction: for each state index, the index of the state it was first
 * reached from and the step id taken. Two typed arrays, no per-state object. The root has parent -1.
 *
 * The step array uses the narrowest element type that holds the model's step ids (1 byte for up to 256
 * steps), since it costs that much per stored state.
 */
export class ParentLinks {
  parent: Int32Array;
  step: Uint8Array | Uint16Array | Int32Array;
  private readonly stepBytes: 1 | 2 | 4;

  constructor(stepCount: number, capacity: number) {
    this.stepBytes = stepCount <= 0x100 ? 1 : stepCount <= 0x10000 ? 2 : 4;
    this.parent = new Int32Array(capacity);
    this.step = this.allocSteps(capacity);
  }

  /** Records that state `index` was reached from `parent` by `step`. */
  set(index: number, parent: number, step: number): void {
    this.parent[index] = parent;
    this.step[index] = step;
  }

  get capacity(): number {
    return this.parent.length;
  }

  get byteLength(): number {
    return this.parent.byteLength + this.step.byteLength;
  }

  /** Bytes allocated for `capacity` entries. */
  byteLengthFor(capacity: number): number {
    return capacity * (4 + this.stepBytes);
  }

  /** Reallocates to `capacity` entries, keeping the first `used`. */
  resize(capacity: number, used: number): void {
    const parent = new Int32Array(capacity);
    parent.set(this.parent.subarray(0, used));
    const step = this.allocSteps(capacity);
    step.set(this.step.subarray(0, used));
    this.parent = parent;
    this.step = step;
  }

  /** The path from the root to `index` as state indices (root first). */
  pathTo(index: number): number[] {
    const path: number[] = [];
    for (let i = index; i >= 0; i = this.parent[i]) path.push(i);
    return path.reverse();
  }

  private allocSteps(n: number): Uint8Array | Uint16Array | Int32Array {
    return this.stepBytes === 1
      ? new Uint8Array(n)
      : this.stepBytes === 2
        ? new Uint16Array(n)
        : new Int32Array(n);
  }
}
