import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';
import { parseS390Script, runS390Script, transcriptHasFailures } from '../../src/script/s390_runner.ts';

const base = { arch: 's390', kind: 'script' };
const parseError = (raw: unknown): string => {
  try {
    parseS390Script(raw, 'x.yaml');
  } catch (e) {
    assert.ok(e instanceof ScenarioError);
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.message;
  }
  assert.fail('expected a ScenarioError');
};

test('scenario errors name the file, the field and what is allowed', () => {
  assert.match(parseError({ ...base, arch: 'x86', ops: [{ op: 'gib_init' }] }), /^x\.yaml: arch: /);
  assert.match(parseError({ ...base, ops: [{ op: 'fly' }] }), /^x\.yaml: ops\[0\]\.op: .*'gib_init'/);
  assert.match(
    parseError({ ...base, ops: [{ op: 'gib_init', colour: 1 }] }),
    /ops\[0\]: unknown field\(s\) "colour"/,
  );
  assert.match(
    parseError({ ...base, strategy: 'v8', ops: [{ op: 'gib_init' }] }),
    /strategy: expected one of "v3"/,
  );
  assert.match(
    parseError({ ...base, fixes: { F4: true }, ops: [{ op: 'gib_init' }] }),
    /fixes: unknown field\(s\) "F4"/,
  );
  assert.match(
    parseError({ ...base, ops: [{ op: 'firmware_ai', vm: 'a', isc: 3 }] }),
    /ops\[0\]\.vm: unknown VM "a"/,
  );
  assert.match(parseError({ ...base, ops: [{ op: 'firmware_ai', vm: 'a', isc: 9 }] }), /ops\[0\]\.isc: /);
  const vm = { op: 'create_vm', vm: 'a', vcpus: 2 };
  assert.match(
    parseError({ ...base, ops: [vm, { op: 'wait', vm: 'a', vcpu: 2 }] }),
    /ops\[1\]\.vcpu: expected a vCPU index 0\.\.1/,
  );
  assert.match(parseError({ ...base, ops: [vm, vm] }), /ops\[1\]\.vm: VM "a" is created twice/);
  assert.match(
    parseError({ ...base, ops: [vm, { op: 'set_cr6', vm: 'a', vcpu: 0 }] }),
    /ops\[1\]: give iscs or mask/,
  );
  assert.match(
    parseError({ ...base, ops: [{ op: 'expect', ipm: 2 }] }),
    /ops\[0\]\.ipm: this expectation needs vm/,
  );
  assert.match(parseError({ ...base, ops: [vm, { op: 'expect', vm: 'a', state: 'host' }] }), /needs vcpu/);
  assert.match(parseError({ ...base, ops: [] }), /^x\.yaml: ops: /);
});

test('transcript: an implicit gib_init as op 0, one line per op, hex masks, events only when traced', () => {
  const s = parseS390Script(
    {
      ...base,
      ops: [
        { op: 'create_vm', vm: 'a' },
        { op: 'set_cr6', vm: 'a', vcpu: 0, mask: 2 },
        { op: 'gisc_register', vm: 'a', gisc: 6, want: '-EBUSY' },
      ],
    },
    'x.yaml',
  );
  const quiet = runS390Script(s);
  assert.deepEqual(
    quiet.map((l) => [l.op, l.kind, l.result]),
    [
      [0, 'gib_init', 'ok'],
      [1, 'create_vm', 'ok'],
      [2, 'set_cr6', 'ok'],
      [3, 'gisc_register', 'ok'],
    ],
  );
  assert.equal(quiet[2]!.mask, '0x02');
  assert.equal(quiet[3]!.mismatch, true);
  assert.equal(transcriptHasFailures(quiet), true);
  const traced = runS390Script(s, { traceEvents: true });
  assert.ok(traced.length > quiet.length);
  assert.ok(traced.every((l) => JSON.parse(JSON.stringify(l)) && ('op' in l || 'event' in l)));
});

test('a failed expect reports each differing field with expected and actual values', () => {
  const s = parseS390Script(
    {
      ...base,
      ops: [
        { op: 'create_vm', vm: 'a' },
        { op: 'expect', vm: 'a', iam: '0x02', listed: true },
      ],
    },
    'x.yaml',
  );
  const [, , check] = runS390Script(s);
  assert.deepEqual(check, {
    op: 2,
    kind: 'expect',
    vm: 'a',
    vcpu: undefined,
    note: undefined,
    result: 'mismatch',
    diffs: [
      { field: 'iam', expected: '0x02', actual: '0x00' },
      { field: 'listed', expected: true, actual: false },
    ],
  });
});

test('the same script gives the same transcript every time (no hidden time or randomness)', () => {
  const dir = join(import.meta.dirname, '../../examples/s390');
  const file = join(dir, readdirSync(dir).filter((f) => f.endsWith('.yaml'))[0]!);
  const s = parseS390Script(readScenarioFile(file), file);
  assert.deepEqual(runS390Script(s, { traceEvents: true }), runS390Script(s, { traceEvents: true }));
});

test('every example under examples/s390 runs clean', () => {
  const dir = join(import.meta.dirname, '../../examples/s390');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yaml'));
  assert.ok(files.length >= 3);
  for (const f of files) {
    const file = join(dir, f);
    const lines = runS390Script(parseS390Script(readScenarioFile(file), file));
    assert.equal(
      transcriptHasFailures(lines),
      false,
      `${f}: ${JSON.stringify(lines.filter((l) => l.result !== 'ok'))}`,
    );
  }
});
