// The streaming gzip of --trace FILE.json.gz: one gzip member that gunzip reads back to the text, for
// an empty text, one block, and many blocks with multi-byte characters across block boundaries.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { GzipSink, traceSink } from '../../src/trace/gzip_sink.ts';

function gz(chunks: string[]): Buffer {
  const parts: Uint8Array[] = [];
  const g = new GzipSink((b) => parts.push(b));
  for (const c of chunks) g.write(c);
  g.close();
  return Buffer.concat(parts);
}

test('gzip sink: gunzip gives the text back, bytes a function of the text', () => {
  const big: string[] = [];
  for (let i = 0; i < 40_000; i++) big.push(`{"ph":"X","name":"tâsk ${i % 97}","ts":${i * 1.5}},\n`);
  for (const chunks of [[], ['{}'], big]) {
    const z = gz(chunks);
    assert.deepEqual([z[0], z[1], z[2]], [0x1f, 0x8b, 8]);
    assert.equal(gunzipSync(z).toString('utf8'), chunks.join(''));
    assert.deepEqual(gz(chunks), z);
  }
  // Several 1 MiB blocks, each compressed.
  const z = gz(big);
  assert.ok(z.length < big.join('').length / 5, `${z.length} bytes`);
});

test('traceSink: gzip for a .gz path, the text as it is otherwise', () => {
  const text: string[] = [];
  const bytes: Uint8Array[] = [];
  const out = { write: (t: string) => text.push(t), writeBytes: (b: Uint8Array) => bytes.push(b) };
  const plain = traceSink('t.json', out);
  plain.write('abc');
  plain.finish();
  assert.deepEqual([text, bytes.length], [['abc'], 0]);
  const z = traceSink('t.json.gz', out);
  z.write('abc');
  z.finish();
  assert.equal(gunzipSync(Buffer.concat(bytes)).toString(), 'abc');
});
