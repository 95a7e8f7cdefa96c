/**
 * Hashing of state encodings for the visited set.
 *
 * murmur3's 32-bit block mixing applied to whole words (equivalently to the encoding's bytes, four at a
 * time, little-endian), then murmur3's finaliser. Why not FNV-1a: it takes one multiply per byte, this
 * takes two per word and still avalanches well, which matters because state encodings are densely packed
 * small integers that differ in a few low bits. All arithmetic stays in int32 (Math.imul, `| 0`), so V8
 * keeps it unboxed.
 */
export function hashWords(words: Int32Array, offset: number, length: number): number {
  return hashWordsSeeded(words, offset, length, 0x9747b28c);
}

/** The same hash with another seed: independent hashes of one encoding (the bitstate search's). */
export function hashWordsSeeded(words: Int32Array, offset: number, length: number, seed: number): number {
  let h = seed | 0;
  for (let j = 0; j < length; j++) {
    let k = Math.imul(words[offset + j], 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= length << 2;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h;
}
