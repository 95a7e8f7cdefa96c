import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { BitLayout } from '../../src/explore/bit_layout.ts';

const layoutAndValues = fc
  .array(fc.integer({ min: 1, max: 32 }), { minLength: 1, maxLength: 40 })
  .chain((widths) =>
    fc.tuple(fc.constant(widths), fc.tuple(...widths.map((w) => fc.integer({ min: 0, max: 2 ** w - 1 })))),
  );

test('set then get returns every field, whatever the order of writes', () => {
  fc.assert(
    fc.property(layoutAndValues, ([widths, values]) => {
      const layout = new BitLayout(widths);
      const s = new Int32Array(layout.words);
      for (let f = 0; f < values.length; f++) layout.set(s, f, values[f] as number);
      // Overwrite in reverse order: neighbours must not be disturbed.
      for (let f = values.length - 1; f >= 0; f--) layout.set(s, f, values[f] as number);
      for (let f = 0; f < values.length; f++) assert.equal(layout.get(s, f) >>> 0, values[f]);
    }),
  );
});

test('pack/unpack agree with get/set and round-trip', () => {
  fc.assert(
    fc.property(layoutAndValues, ([widths, values]) => {
      const layout = new BitLayout(widths);
      const fields = Int32Array.from(values.map((v) => v | 0));
      const packed = new Int32Array(layout.words + 2).fill(-1);
      layout.pack(fields, packed, 1);
      const viaSet = new Int32Array(layout.words);
      for (let f = 0; f < values.length; f++) layout.set(viaSet, f, values[f] as number);
      assert.deepEqual(packed.subarray(1, 1 + layout.words), viaSet);
      const back = new Int32Array(widths.length);
      layout.unpack(packed, 1, back);
      assert.deepEqual(back, fields);
    }),
  );
});

test('fields never straddle words; first fit packs small fields densely', () => {
  assert.equal(new BitLayout([31, 2]).words, 2);
  assert.equal(new BitLayout([31, 2, 1]).words, 2); // the 1-bit field goes into word 0
  assert.equal(new BitLayout(Array(32).fill(1)).words, 1);
  assert.equal(BitLayout.bitsFor(0), 1);
  assert.equal(BitLayout.bitsFor(5), 3);
  assert.equal(BitLayout.bitsFor(8), 4);
  assert.throws(() => new BitLayout([0]), RangeError);
});
