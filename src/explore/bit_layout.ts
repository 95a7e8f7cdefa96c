/**
 * Bit fields packed into 32-bit words: the usual way for a model to get a compact canonical encoding.
 *
 * Each field gets a fixed bit width and is placed, in field order, into the first word with room for it
 * (first fit), never straddling two words, so reading or writing a field is a shift and a mask. The layout
 * is a pure function of the widths, so equal field values give equal words (unused bits stay 0).
 *
 * Two ways to use it:
 * - keep the working state packed (an Int32Array of `words` words) and read/write fields with `get` and
 *   `set`: then encode, decode and copy are word copies, and a step costs only the fields it touches.
 *   This is what apf_slot does, and what makes its transitions cheap;
 * - keep one Int32Array element per field and convert with `pack`/`unpack` at encode/decode time.
 *
 * Fields are unsigned (a 32-bit field reads back as int32).
 */
export class BitLayout {
  /** Words per encoding. */
  readonly words: number;
  /** Number of fields. */
  readonly fields: number;
  /** Per field: its word, its shift, its unshifted mask. */
  private readonly word: Int32Array;
  private readonly shift: Int32Array;
  private readonly mask: Int32Array;
  /**
   * Per field, all three packed in one int32 so that `get`/`set` load one array element, not three:
   * word index in bits 0..15, shift in bits 16..20, width in bits 24..29.
   */
  private readonly desc: Int32Array;
  /** Fields grouped by word (for pack/unpack): order[groupStart[w] .. groupStart[w + 1]). */
  private readonly order: Int32Array;
  private readonly groupStart: Int32Array;

  constructor(widths: readonly number[]) {
    const n = widths.length;
    this.fields = n;
    this.word = new Int32Array(n);
    this.shift = new Int32Array(n);
    this.mask = new Int32Array(n);
    this.desc = new Int32Array(n);
    const used: number[] = [];
    for (let f = 0; f < n; f++) {
      const width = widths[f];
      if (width === undefined || !Number.isInteger(width) || width < 1 || width > 32) {
        throw new RangeError(`bit field ${f}: width ${width}`);
      }
      let w = used.findIndex((u) => u + width <= 32);
      if (w < 0) {
        w = used.length;
        used.push(0);
      }
      this.word[f] = w;
      this.shift[f] = used[w];
      this.mask[f] = width === 32 ? -1 : (1 << width) - 1;
      if (w > 0xffff) throw new RangeError(`bit layout: more than ${0xffff} words`);
      this.desc[f] = w | (used[w] << 16) | (width << 24);
      used[w] += width;
    }
    this.words = Math.max(1, used.length);
    const order: number[] = [];
    const groupStart: number[] = [0];
    for (let w = 0; w < this.words; w++) {
      for (let f = 0; f < n; f++) if (this.word[f] === w) order.push(f);
      groupStart.push(order.length);
    }
    this.order = Int32Array.from(order);
    this.groupStart = Int32Array.from(groupStart);
  }

  /** The bit width that holds every value in [0, maxValue]. */
  static bitsFor(maxValue: number): number {
    return maxValue <= 1 ? 1 : 32 - Math.clz32(maxValue);
  }

  /** Reads field `f` of the packed state `s`. */
  get(s: Int32Array, f: number): number {
    const d = this.desc[f];
    return (s[d & 0xffff] >>> ((d >>> 16) & 31)) & (-1 >>> (32 - (d >>> 24)));
  }

  /** Writes `value` (masked to the field's width) into field `f` of the packed state `s`. */
  set(s: Int32Array, f: number, value: number): void {
    const d = this.desc[f];
    const w = d & 0xffff;
    const shift = (d >>> 16) & 31;
    const mask = -1 >>> (32 - (d >>> 24));
    s[w] = (s[w] & ~(mask << shift)) | ((value & mask) << shift);
  }

  /**
   * Packs `values[0 .. fields)` (one element per field) into `out[offset .. offset + words)`. Each word is
   * accumulated in a local, not by `|=` on the output, which would chain every field through a store.
   */
  pack(values: Int32Array, out: Int32Array, offset = 0): void {
    const { order, groupStart, shift, mask } = this;
    let k = 0;
    for (let w = 0; w < this.words; w++) {
      let acc = 0;
      for (const end = groupStart[w + 1]; k < end; k++) {
        const f = order[k];
        acc |= (values[f] & mask[f]) << shift[f];
      }
      out[offset + w] = acc;
    }
  }

  /** Unpacks `words[offset .. offset + words)` into `values[0 .. fields)`. */
  unpack(words: Int32Array, offset: number, values: Int32Array): void {
    const { order, groupStart, shift, mask } = this;
    let k = 0;
    for (let w = 0; w < this.words; w++) {
      const x = words[offset + w];
      for (const end = groupStart[w + 1]; k < end; k++) {
        const f = order[k];
        values[f] = (x >>> shift[f]) & mask[f];
      }
    }
  }
}
