import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration, type ParseResult, parseDuration, parseSize } from '../../src/scenario/units.ts';

function value(r: ParseResult): number {
  assert.ok(r.ok, r.ok ? '' : r.error);
  return r.value;
}
function error(r: ParseResult): string {
  assert.ok(!r.ok, `expected an error, got ${r.ok ? r.value : ''}`);
  return r.error;
}

test('durations: units (a bare number only for 0)', () => {
  const cases: Array<[unknown, number]> = [
    ['250ns', 250],
    ['10us', 10_000],
    ['10µs', 10_000], // U+00B5 micro sign
    ['10μs', 10_000], // U+03BC greek mu
    ['2ms', 2_000_000],
    ['1.5s', 1_500_000_000],
    ['0.5ns', 0.5],
    ['.5us', 500],
    ['1e3us', 1_000_000],
    ['2.5e-3s', 2_500_000],
    [' 10 us ', 10_000],
    ['+3ms', 3_000_000],
    ['0', 0],
    ['-0us', 0],
    [0, 0],
  ];
  for (const [input, ns] of cases) assert.equal(value(parseDuration(input)), ns, JSON.stringify(input));
});

test('durations convert exactly (one decimal rounding, not number * scale)', () => {
  // 1.005 * 1e3 is 1004.9999999999999 and 1.001 * 1e6 is not 1001000 either; the parser must give the
  // doubles nearest to the decimal values.
  assert.notEqual(1.005 * 1e3, 1005);
  assert.notEqual(1.001 * 1e6, 1_001_000);
  assert.equal(value(parseDuration('1.005us')), 1005);
  assert.equal(value(parseDuration('1.001ms')), 1_001_000);
  assert.equal(value(parseDuration('1.1ms')), 1_100_000);
});

test('durations: descriptive errors, never throws', () => {
  assert.match(error(parseDuration('abc')), /expected a duration like "10us".*got "abc"/);
  assert.match(error(parseDuration('10 min')), /unknown duration unit "min".*use ns, us, ms or s/);
  assert.match(error(parseDuration('10MS')), /unknown duration unit "MS"/);
  assert.match(error(parseDuration('-5us')), /cannot be negative/);
  assert.match(error(parseDuration(-1)), /cannot be negative/);
  assert.match(error(parseDuration(Number.NaN)), /expected a duration/);
  assert.match(error(parseDuration(Number.POSITIVE_INFINITY)), /expected a duration/);
  assert.match(error(parseDuration('1e400s')), /too large/);
  assert.match(error(parseDuration(true)), /got true/);
  assert.match(error(parseDuration(null)), /got null/);
  assert.match(error(parseDuration(undefined)), /missing/);
  assert.match(error(parseDuration({})), /got an object/);
  assert.match(error(parseDuration([1])), /got a list/);
  assert.match(error(parseDuration('')), /expected a duration/);
  assert.match(error(parseDuration('us')), /expected a duration/);
  assert.match(error(parseDuration('1.2.3us')), /expected a duration/);
});

test('sizes: binary units, kernel-style letters (a bare number only for 0)', () => {
  const cases: Array<[unknown, number]> = [
    ['4096B', 4096],
    ['64KiB', 65536],
    ['4K', 4096],
    ['4k', 4096],
    ['2MiB', 2 * 1024 ** 2],
    ['2M', 2 * 1024 ** 2],
    ['16GiB', 16 * 1024 ** 3],
    ['16gib', 16 * 1024 ** 3],
    ['1TiB', 1024 ** 4],
    ['1.5KiB', 1536],
    ['4.5GiB', 4.5 * 1024 ** 3],
    ['512B', 512],
    ['1e3B', 1000],
    [' 8 KiB ', 8192],
    [0, 0],
    ['0', 0],
  ];
  for (const [input, bytes] of cases) assert.equal(value(parseSize(input)), bytes, JSON.stringify(input));
});

test('sizes: descriptive errors', () => {
  assert.match(error(parseSize('64KB')), /"KB" in "64KB" is ambiguous; write KiB/);
  assert.match(error(parseSize('1gb')), /ambiguous; write GiB/);
  assert.match(error(parseSize('1.3KiB')), /not a whole number of bytes/);
  assert.match(error(parseSize('1.5B')), /not a whole number of bytes/);
  assert.match(error(parseSize('-4K')), /cannot be negative/);
  assert.match(error(parseSize(-1)), /cannot be negative/);
  assert.match(error(parseSize('3 pages')), /unknown size unit "pages"/);
  assert.match(error(parseSize('99999999TiB')), /too large/);
  assert.match(error(parseSize('lots')), /expected a size like/);
  assert.match(error(parseSize(false)), /got false/);
  assert.match(error(parseSize(Number.POSITIVE_INFINITY)), /expected a size/);
});

// issue 13: a bare number used to mean ns (or bytes) silently; now it is an error naming the units.
test('a duration or size without a unit is an error naming the units', () => {
  assert.match(
    error(parseDuration(4096)),
    /a duration needs a unit: ns, us \(or µs\), ms or s \(e\.g\. "4096ns"\)/,
  );
  assert.match(error(parseDuration('250')), /needs a unit.*"250ns".*got "250"/);
  assert.match(error(parseDuration(0.25)), /needs a unit/);
  assert.match(
    error(parseSize(4096)),
    /a size needs a unit: B, K or KiB, M or MiB, G or GiB, T or TiB \(e\.g\. "4096B"\)/,
  );
  assert.match(error(parseSize('4096')), /needs a unit/);
  assert.match(error(parseSize(1.5)), /needs a unit/);
});

test('formatDuration picks a readable unit', () => {
  assert.equal(formatDuration(250), '250ns');
  assert.equal(formatDuration(10_000), '10us');
  assert.equal(formatDuration(1_500_000), '1.5ms');
  assert.equal(formatDuration(2_000_000_000), '2s');
  assert.equal(formatDuration(1_100_000), '1.1ms');
});
