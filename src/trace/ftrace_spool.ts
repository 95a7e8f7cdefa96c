// A `trace` file written as a stream: its header counts the events, so the lines go to a spool file
// first and, at the end, the header and then the spooled lines go to the output. The spool is a
// temporary file of its own, removed at the end or on abort (and when the process exits).
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StringDecoder } from 'node:string_decoder';

/** Where the finished text goes (an OutputFile of src/cli/output_file.ts, or anything like it). */
export interface TextSink {
  write(text: string): void;
}

const CHUNK = 1 << 20;
const live = new Set<FtraceSpool>();
let hooked = false;

export class FtraceSpool {
  private readonly dir: string;
  private fd: number;
  private done = false;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'kvmsim-ftrace-'));
    this.fd = openSync(join(this.dir, 'lines'), 'w+', 0o600);
    live.add(this);
    if (!hooked) {
      hooked = true;
      process.on('exit', () => {
        for (const s of [...live]) s.abort();
      });
    }
  }

  /** Appends lines (FtraceWriter's chunks). */
  readonly write = (chunk: string): void => {
    const buf = Buffer.from(chunk, 'utf8');
    for (let off = 0; off < buf.length; ) off += writeSync(this.fd, buf, off, buf.length - off);
  };

  /** Writes `header` and then every spooled line to `out`, and removes the spool. */
  finish(header: string, out: TextSink): void {
    out.write(header);
    const buf = Buffer.allocUnsafe(CHUNK);
    const dec = new StringDecoder('utf8');
    for (let pos = 0; ; ) {
      const n = readSync(this.fd, buf, 0, CHUNK, pos);
      if (n === 0) break;
      pos += n;
      const text = dec.write(buf.subarray(0, n));
      if (text !== '') out.write(text);
    }
    const rest = dec.end();
    if (rest !== '') out.write(rest);
    this.abort();
  }

  /** Removes the spool. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    live.delete(this);
    try {
      closeSync(this.fd);
    } catch {}
    this.fd = -1;
    rmSync(this.dir, { recursive: true, force: true });
  }
}
