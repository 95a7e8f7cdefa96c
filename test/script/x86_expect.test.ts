// issue 13: the x86 script's `expect:` block (src/script/x86_expect.ts). The matcher on small transcripts,
// and the expect blocks of examples/bugs: each holds with its bug switch and fails without it (the
// switch is what the block is about), so these scripts are tests that can fail.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { TranscriptRecord } from '../../src/script/transcript.ts';
import { checkX86Expect, sameValue, X86ExpectSchema } from '../../src/script/x86_expect.ts';

const root = join(import.meta.dirname, '../..');
const expectOf = (e: unknown) => X86ExpectSchema.parse(e);

// A single-vCPU transcript in the shape of examples/bugs/token-zero.yaml's.
const records: TranscriptRecord[] = [
  { op: 0, kind: 'sti', result: 'ok' },
  { event: 'irq', vector: '0xec', token: '0xffffffff', flags: '0x0' },
  { event: 'ack', value: '0x1', result: 'ok' },
  { event: '#PF', cr2: '0x1000', error_code: '0x0', flags: '0x1' },
  { op: 1, kind: 'touch', result: 'ok', value: '0x1000' },
  { event: 'irq', vector: '0xec', token: '0x1000', flags: '0x0' },
  { op: 2, kind: 'run', result: 'ok' },
];

test('values compare as integers (0x1000, 4096 and "0x1000" are one value) or as text', () => {
  assert.ok(sameValue(4096n, '0x1000'));
  assert.ok(sameValue(4096, '0x1000'));
  assert.ok(sameValue('0x1000', '0x1000'));
  assert.ok(!sameValue(0n, '0x1000'));
  assert.ok(sameValue('#PF', '#PF'));
  assert.ok(!sameValue('ok', 'hang'));
  assert.ok(!sameValue(0n, undefined));
});

test('ops: result and value by op index; the first mismatch names the entry, field, expected and actual', () => {
  assert.deepEqual(checkX86Expect(expectOf({ ops: [{ op: 1, result: 'ok', value: 0x1000n }] }), records), []);
  const m = checkX86Expect(
    expectOf({
      ops: [
        { op: 1, value: 0n },
        { op: 2, result: 'hang' },
      ],
    }),
    records,
  );
  assert.deepEqual(
    m.map((x) => `${x.at}: ${x.what}`),
    [
      'expect.ops[0]: op 1 (touch): value: expected 0x0, got 0x1000',
      'expect.ops[1]: op 2 (run): result: expected hang, got ok',
    ],
  );
});

test('events: in order, other records between; out of order fails', () => {
  const inOrder = {
    events: [
      { event: '#PF', cr2: 0x1000n },
      { event: 'irq', token: 0x1000n },
    ],
  };
  assert.deepEqual(checkX86Expect(expectOf(inOrder), records), []);
  const reversed = {
    events: [
      { event: 'irq', token: 0x1000n },
      { event: '#PF', cr2: 0x1000n },
    ],
  };
  const m = checkX86Expect(expectOf(reversed), records);
  assert.equal(m.length, 1);
  assert.match(m[0]!.what, /^\{event: #PF, cr2: 0x1000\} not found after record 5 /);
});

test('counts (with the vCPU filter; a record without vcpu is vCPU 0) and absences', () => {
  const ok = {
    counts: [
      { event: 'irq', count: 2 },
      { event: 'irq', vcpu: 0, count: 2 },
      { event: 'irq', vcpu: 1, count: 0 },
    ],
    absent: [{ event: 'irq', token: 0n }],
  };
  assert.deepEqual(checkX86Expect(expectOf(ok), records), []);
  const bad = checkX86Expect(
    expectOf({ counts: [{ event: 'irq', vcpu: 0, count: 1 }], absent: [{ event: 'irq', token: 0x1000n }] }),
    records,
  );
  assert.deepEqual(
    bad.map((x) => x.at),
    ['expect.counts[0]', 'expect.absent[0]'],
  );
  assert.match(bad[0]!.what, /expected 1, got 2/);
  assert.match(bad[1]!.what, /is present: record 5 /);
});

test('a pattern says which record it is about, and names only transcript fields', () => {
  assert.throws(() => expectOf({ absent: [{ token: 0n }] }));
  assert.throws(() => expectOf({ absent: [{ event: 'irq', op: 1 }] }));
  assert.throws(() => expectOf({ absent: [{ event: 'irq', tokn: 0n }] }));
  assert.throws(() => expectOf({ counts: [{ event: 'irq' }] }));
});

const bugExamples = readdirSync(join(root, 'examples/bugs'))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

for (const name of bugExamples)
  test(`examples/bugs/${name}: its expect block holds with the bug and fails without it`, () => {
    const file = join(root, 'examples/bugs', name);
    const raw = readScenarioFile(file, { bigint: true }) as Record<string, unknown>;
    const script = parseScript(structuredClone(raw), file);
    assert.ok(script.expect, 'every bug example states its expectation');
    assert.ok((script.bugs as string[]).length > 0);
    assert.deepEqual(checkX86Expect(script.expect, runScript(script).records), []);
    const fixed = parseScript({ ...structuredClone(raw), bugs: [] }, file);
    const m = checkX86Expect(fixed.expect!, runScript(fixed).records);
    assert.ok(m.length > 0, `${name}: the expect block does not notice the bug switched off`);
  });

for (const name of readdirSync(join(root, 'examples/compat'))
  .filter((f) => f.endsWith('.yaml'))
  .sort())
  test(`examples/compat/${name}: its expect block holds, and fails on another host era`, () => {
    const file = join(root, 'examples/compat', name);
    const raw = readScenarioFile(file, { bigint: true }) as Record<string, unknown>;
    const script = parseScript(structuredClone(raw), file);
    assert.ok(script.expect);
    assert.deepEqual(checkX86Expect(script.expect, runScript(script).records), []);
    const other = parseScript({ ...structuredClone(raw), era: raw.era === '6.18' ? '4.19' : '6.18' }, file);
    assert.ok(
      checkX86Expect(other.expect!, runScript(other).records).length > 0,
      `${name}: era makes no difference`,
    );
  });
