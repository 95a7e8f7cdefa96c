// A byte buffer for text trace formats: events are written straight into a Uint8Array as ASCII
// (numbers digit by digit), and handed on as one string per 64 KiB chunk. A trace of millions of
// events then makes a few thousand strings instead of several per event, which is what keeps tracing
// out of the garbage collector's way.

const CHUNK = 1 << 16;

export class AsciiOut {
  private buf = new Uint8Array(CHUNK);
  private pos = 0;
  private readonly digits = new Uint8Array(24);
  /** Bytes handed on so far. */
  bytes = 0;

  constructor(private readonly write: (chunk: string) => void) {}

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

  /** Any text: non-ASCII goes through UTF-8. */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) > 0x7e) {
        this.flush();
        this.bytes += Buffer.byteLength(s);
        this.write(s);
        return;
      }
    }
    this.raw(s);
  }

  /** A JSON string literal. */
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
    for (let i = w - 1; i >= 0; i--) {
      const q = Math.floor(n / 10);
      b[this.pos + i] = 48 + (n - q * 10);
      n = q;
    }
    this.pos += w;
  }

  /** 0x… in lower case. */
  hex(n: number): void {
    this.raw('0x');
    this.raw(n.toString(16));
  }

  flush(): void {
    if (this.pos === 0) return;
    this.bytes += this.pos;
    this.write(Buffer.from(this.buf.buffer, 0, this.pos).toString('latin1'));
    this.pos = 0;
  }
}
