// A byte buffer for text trace formats: events are written straight into a Uint8Array as ASCII, and
// handed on as one string per 64 KiB chunk. A trace of millions of events then makes a few thousand
// strings instead of several per event, which is what keeps tracing out of the garbage collector's way.
//
// Text that repeats (an event's name and thread, a line's task columns) is encoded once as a Fragment
// and copied per use (one TypedArray.set, or a short loop): re-encoding it character by character was
// most of the cost of a trace. Numbers are printed by table, three decimal digits at a time, and hex
// numbers nibble by nibble: no number becomes a string on the way (toString(16) of a 48-bit address
// alone takes ~0.7 µs).

const CHUNK = 1 << 16;

/** "000" … "999": three digits by value (3 bytes each). */
const DIGITS3 = new Uint8Array(3000);
for (let x = 0; x < 1000; x++) {
  DIGITS3[3 * x] = 48 + Math.floor(x / 100);
  DIGITS3[3 * x + 1] = 48 + (Math.floor(x / 10) % 10);
  DIGITS3[3 * x + 2] = 48 + (x % 10);
}

// Decimal digits are written three at a time from DIGITS3: a number below 10^9 takes at most two
// int32 divisions (which V8 compiles to multiplies) instead of one division per digit.

/** Writes 0 ≤ x < 1000 as exactly three digits at b[p…]; returns the position after them. */
function put3(b: Uint8Array, p: number, x: number): number {
  const i = 3 * x;
  b[p] = DIGITS3[i]!;
  b[p + 1] = DIGITS3[i + 1]!;
  b[p + 2] = DIGITS3[i + 2]!;
  return p + 3;
}

/** Writes 0 ≤ x < 1000 without leading zeros. */
function putSmall(b: Uint8Array, p: number, x: number): number {
  if (x >= 100) return put3(b, p, x);
  const i = 3 * x;
  if (x >= 10) {
    b[p] = DIGITS3[i + 1]!;
    b[p + 1] = DIGITS3[i + 2]!;
    return p + 2;
  }
  b[p] = DIGITS3[i + 2]!;
  return p + 1;
}

/** Writes the decimal digits of an integer 0 ≤ n < 2^53 at b[p…]; returns the position after them. */
function putUint(b: Uint8Array, p: number, n: number): number {
  if (n < 1000) return putSmall(b, p, n);
  if (n < 1e6) {
    const hi = (n / 1000) | 0;
    return put3(b, putSmall(b, p, hi), n - hi * 1000);
  }
  if (n < 1e9) {
    const hi = (n / 1e6) | 0;
    const rest = n - hi * 1e6;
    const mid = (rest / 1000) | 0;
    return put3(b, put3(b, putSmall(b, p, hi), mid), rest - mid * 1000);
  }
  const hi = Math.floor(n / 1e9);
  const lo = n - hi * 1e9;
  const mid = (lo / 1e6) | 0;
  const rest = lo - mid * 1e6;
  const low = (rest / 1000) | 0;
  return put3(b, put3(b, put3(b, putUint(b, p, hi), mid), low), rest - low * 1000);
}

/** Copies src to b[p…]; returns the position after it. */
function putBytes(b: Uint8Array, p: number, src: Uint8Array): number {
  const n = src.length;
  // TypedArray.set has a fixed cost of a few dozen ns; a loop is cheaper for the short ones.
  if (n > 16) b.set(src, p);
  else for (let i = 0; i < n; i++) b[p + i] = src[i]!;
  return p + n;
}

/** The longest text putMicros writes: 16 digits, '.', 3 digits. */
const MICROS_MAX = 20;

/**
 * Writes a time in ns as µs with three decimals, "<µs>.<ns>" (rounded to whole ns; formatTraceTime in
 * chrome.ts), for the usual times (usualTime); AsciiOut.micros prints the others.
 */
function putMicros(b: Uint8Array, p: number, ns: number): number {
  const n = Math.round(ns);
  const us = Math.floor(n / 1000);
  p = putUint(b, p, us);
  b[p] = 0x2e; // '.'
  return put3(b, p + 1, n - us * 1000);
}

/** Whether putMicros can print ns: µs in [0, 2^53). */
const usualTime = (ns: number): boolean => ns >= 0 && ns < 9e18;

/** Lower-case hex digits, by value. */
const HEX_DIGITS = new Uint8Array([48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 97, 98, 99, 100, 101, 102]);

const isAscii = (s: string): boolean => {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e) return false;
  return true;
};

/**
 * Text encoded once, written many times (AsciiOut.fragment). ASCII text is kept as bytes; anything else
 * (a user-chosen name with non-ASCII characters) as the string, which goes through the UTF-8 path.
 */
export class Fragment {
  /** The text's bytes; null when it is not ASCII. */
  readonly bytes: Uint8Array | null;

  constructor(readonly text: string) {
    if (!isAscii(text)) {
      this.bytes = null;
      return;
    }
    const b = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) b[i] = text.charCodeAt(i);
    this.bytes = b;
  }
}

export class AsciiOut {
  private buf = new Uint8Array(CHUNK);
  private pos = 0;
  private readonly digits = new Uint8Array(24);
  /** Bytes handed on so far. */
  bytes = 0;

  constructor(private readonly write: (chunk: string) => void) {}

  /** Makes room for n more bytes (n ≤ CHUNK unless the buffer is to grow). */
  private room(n: number): void {
    if (this.pos + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) this.buf = new Uint8Array(n);
    }
  }

  /** Text that is known to be ASCII (callers' constants and formatted numbers). */
  raw(s: string): void {
    const n = s.length;
    this.room(n);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** One ASCII character, by code. */
  byte(c: number): void {
    this.room(1);
    this.buf[this.pos++] = c;
  }

  /** A fragment: one copy of its bytes (or its text, when it is not ASCII). */
  fragment(f: Fragment): void {
    const b = f.bytes;
    if (b === null) {
      this.text(f.text);
      return;
    }
    this.room(b.length);
    this.pos = putBytes(this.buf, this.pos, b);
  }

  /** An ASCII fragment (a JSON key, say) and then a time: micros(ns), in one go. */
  fragmentMicros(f: Fragment, ns: number): void {
    const k = f.bytes;
    if (k === null || !usualTime(ns)) {
      this.fragment(f);
      this.micros(ns);
      return;
    }
    this.room(k.length + MICROS_MAX);
    this.pos = putMicros(this.buf, putBytes(this.buf, this.pos, k), ns);
  }

  /** Any text: non-ASCII goes through UTF-8. */
  text(s: string): void {
    if (!isAscii(s)) {
      this.flush();
      this.bytes += Buffer.byteLength(s);
      this.write(s);
      return;
    }
    this.raw(s);
  }

  /** A JSON string literal (the same text as JSON.stringify(s)). */
  jsonString(s: string): void {
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
        this.text(JSON.stringify(s));
        return;
      }
    }
    this.room(s.length + 2);
    this.buf[this.pos++] = 0x22;
    this.raw(s);
    this.buf[this.pos++] = 0x22;
  }

  /** A non-negative integer (up to 2^53). */
  uint(n: number): void {
    this.room(17);
    if (n >= 0 && Number.isSafeInteger(n)) {
      this.pos = putUint(this.buf, this.pos, n);
      return;
    }
    // Not reached by valid input (a pid, a time in µs); kept so that anything prints as it always did.
    if (n < 10) {
      this.buf[this.pos++] = 48 + n;
      return;
    }
    const d = this.digits;
    let k = 0;
    while (n > 0) {
      const q = Math.floor(n / 10);
      d[k++] = 48 + (n - q * 10);
      n = q;
    }
    const b = this.buf;
    while (k > 0) b[this.pos++] = d[--k]!;
  }

  /** An integer, possibly negative. */
  int(n: number): void {
    if (n < 0) {
      this.raw('-');
      n = -n;
    }
    this.uint(n);
  }

  /** Exactly `w` digits, zero-padded (n < 10^w). */
  padded(n: number, w: number): void {
    this.room(w);
    const b = this.buf;
    if (w === 6 && n >= 0 && n < 1e6 && Number.isInteger(n)) {
      const hi = (n / 1000) | 0;
      this.pos = put3(b, put3(b, this.pos, hi), n - hi * 1000);
      return;
    }
    for (let i = w - 1; i >= 0; i--) {
      const q = Math.floor(n / 10);
      b[this.pos + i] = 48 + (n - q * 10);
      n = q;
    }
    this.pos += w;
  }

  /**
   * A time in ns as µs with three decimals, "<µs>.<ns>" (rounded to whole ns; formatTraceTime in
   * chrome.ts).
   */
  micros(ns: number): void {
    if (usualTime(ns)) {
      this.room(MICROS_MAX);
      this.pos = putMicros(this.buf, this.pos, ns);
      return;
    }
    // Negative (or not finite): as formatTraceTime prints it.
    const n = Math.round(ns);
    const us = Math.floor(n / 1000);
    this.int(us);
    this.byte(0x2e);
    this.padded(n - us * 1000, 3);
  }

  /** An integer 0 ≤ n < 2^53 right-aligned in `w` columns, space-padded (String(n).padStart(w)). */
  spacePadded(n: number, w: number): void {
    let len = 1;
    for (let x = 10; n >= x && len < 16; x *= 10) len++;
    this.room(Math.max(w, len));
    const b = this.buf;
    let p = this.pos;
    for (let k = len; k < w; k++) b[p++] = 0x20;
    this.pos = putUint(b, p, n);
  }

  /**
   * n in lower-case hex without a prefix: the same text as n.toString(16). Safe non-negative integers
   * (addresses, frame numbers, tokens) digit by digit, as two 32-bit halves; anything else through
   * toString, which is several times slower.
   */
  hexDigits(n: number): void {
    if (!(n >= 0 && Number.isSafeInteger(n))) {
      this.raw(n.toString(16));
      return;
    }
    this.room(14);
    const hi = Math.floor(n / 4294967296);
    let lo = n >>> 0;
    // Digit count from the leading zero bits, then the digits right to left.
    const len = hi > 0 ? 8 + ((35 - Math.clz32(hi)) >> 2) : Math.max(1, (35 - Math.clz32(lo)) >> 2);
    const b = this.buf;
    const end = this.pos + len;
    let i = end;
    for (let k = hi > 0 ? 8 : len; k > 0; k--, lo >>>= 4) b[--i] = HEX_DIGITS[lo & 15]!;
    for (let x = hi; x !== 0; x >>>= 4) b[--i] = HEX_DIGITS[x & 15]!;
    this.pos = end;
  }

  /** 0x… in lower case. */
  hex(n: number): void {
    this.raw('0x');
    this.hexDigits(n);
  }

  flush(): void {
    if (this.pos === 0) return;
    this.bytes += this.pos;
    this.write(Buffer.from(this.buf.buffer, 0, this.pos).toString('latin1'));
    this.pos = 0;
  }
}
