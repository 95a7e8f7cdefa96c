// A gzip file (RFC 1952) written as a stream, synchronously: text is gathered into 1 MiB blocks, each
// compressed on its own as raw deflate ending in a sync flush (byte-aligned, not final), so the blocks
// join into one deflate stream; close() adds the final block and the trailer (CRC-32, size mod 2^32).
// One gzip member: every gunzip, and the viewers that read .json.gz, take it. The bytes depend only on
// the text (no name, no time in the header).
import { constants, crc32, deflateRawSync } from 'node:zlib';

const BLOCK = 1 << 20;
/** ID1 ID2, CM = deflate, no flags, MTIME 0, XFL 0, OS 255 (unknown). */
const HEADER = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 255]);

export class GzipSink {
  private readonly parts: Buffer[] = [];
  private pending = 0;
  private crc = 0;
  private size = 0;
  private closed = false;

  constructor(private readonly out: (bytes: Uint8Array) => void) {
    out(HEADER);
  }

  readonly write = (text: string): void => {
    const b = Buffer.from(text, 'utf8');
    this.parts.push(b);
    this.pending += b.length;
    if (this.pending >= BLOCK) this.block(false);
  };

  private block(final: boolean): void {
    const buf = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.pending);
    this.parts.length = 0;
    this.pending = 0;
    this.crc = crc32(buf, this.crc);
    this.size = (this.size + buf.length) % 2 ** 32;
    this.out(deflateRawSync(buf, { finishFlush: final ? constants.Z_FINISH : constants.Z_SYNC_FLUSH }));
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.block(true);
    const trailer = Buffer.alloc(8);
    trailer.writeUInt32LE(this.crc >>> 0, 0);
    trailer.writeUInt32LE(this.size, 4);
    this.out(trailer);
  }
}

/** Where a trace's text goes: straight to `out`, or gzipped when the path ends in `.gz`. */
export interface TraceSink {
  write: (text: string) => void;
  /** Ends the gzip member (nothing for plain text); call before committing the file. */
  finish(): void;
}

export function traceSink(
  path: string,
  out: { write(text: string): void; writeBytes(bytes: Uint8Array): void },
): TraceSink {
  if (!path.endsWith('.gz')) return { write: (t) => out.write(t), finish: () => {} };
  const gz = new GzipSink((b) => out.writeBytes(b));
  return { write: gz.write, finish: () => gz.close() };
}
