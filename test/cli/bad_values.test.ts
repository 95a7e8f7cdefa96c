// issue 12 items 2 and 3: a list or mapping where a number is expected gets the loader's one-line error
// (exit 2, no stack trace: the error formatter used to throw "Do not know how to serialize a BigInt"), and
// a Linux guest refuses to offline a CPU that is offline or already going down (it used to overflow the
// CPU's kernel-op queue with a RangeError).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-bad-values-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const cases: Array<[string, string, RegExp]> = [
  [
    'vcpus-list.yaml',
    'kind: script\nvm: { vcpus: [2] }\nops: [{ op: run }]\n',
    /vcpus-list\.yaml: vm\.vcpus: expected an integer 1\.\.64, got \[2\] \(at \S+vcpus-list\.yaml:2:14\)$/,
  ],
  [
    'value-map.yaml',
    'kind: script\nops: [{ op: wrmsr, msr: 0x4b564d02, value: { lo: 1 } }]\n',
    /value-map\.yaml: ops\[0\]\.value: expected an unsigned 64-bit integer .*, got \{"lo":1\} \(at \S+value-map\.yaml:\d+:\d+\)$/,
  ],
  [
    'task-step-number.yaml',
    'kind: script\nguest: { kind: linux-5.10, tasks: [{ program: [1] }] }\nops: [{ op: run }]\n',
    /task-step-number\.yaml: guest\.tasks\[0\]\.program\[0\]: got 1 \(a step is/,
  ],
];

for (const [name, text, message] of cases) {
  test(`${name}: exit 2, one line on stderr, nothing on stdout`, () => {
    const r = kvmsim('script', file(name, text));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), message);
  });
}

test('cpu_offline of a CPU that is going down or offline is rejected, not a crash', () => {
  const script = file(
    'offline-thrice.yaml',
    [
      'kind: script',
      'vm: { vcpus: 2, memory: 1MiB }',
      'guest: { kind: linux-5.10, tasks: [{ program: [{ compute: 1ms }] }] }',
      'ops:',
      '  - { op: run }',
      '  - { op: cpu_offline, vcpu: 1 }',
      '  - { op: cpu_offline, vcpu: 1 }',
      '  - { op: cpu_offline, vcpu: 1 }',
      '  - { op: run }',
      '',
    ].join('\n'),
  );
  const r = kvmsim('script', script, '--json');
  assert.equal(r.status, 0, r.stderr);
  const results = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { kind?: string; result?: string })
    .filter((x) => x.kind === 'cpu_offline')
    .map((x) => x.result);
  assert.deepEqual(results, ['ok', 'rejected', 'rejected']);
});

// issue 12 item 1: compute bursts that can only last 0 ns made `kvmsim run` loop at one virtual instant
// (every touched page resident). The schema refuses them, as it refuses `exponential, mean: 0`.
test('a sim whose bursts can only last 0 ns is refused with one line, exit 2', () => {
  const web = readFileSync(join(import.meta.dirname, '../../examples/sim/web-overcommit.yaml'), 'utf8');
  for (const burst of ['0', '{ dist: uniform, min: 0, max: 0 }', '{ dist: empirical, values: [0] }']) {
    const text = web.replace('burst: { dist: exponential, mean: 40us }', `burst: ${burst}`);
    assert.notEqual(text, web);
    const r = kvmsim('run', file('zero-burst.yaml', text));
    assert.equal(r.status, 2, burst);
    assert.equal(r.stdout, '');
    assert.match(
      r.stderr.trim(),
      /zero-burst\.yaml: vms\[0\]\.workload\.burst: a compute burst must be able to last more than 0 ns/,
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
  }
});
