// The kvmsim CLI: bad input gets one clear line and exit code 2; good input prints the transcript.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-cli-'));
const scenario = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const badInputs: Array<[string, string, RegExp]> = [
  ['unknown-op.yaml', 'kind: script\nops:\n  - { op: frobnicate }\n', /unknown-op\.yaml: ops\[0\]\.op: /],
  [
    'bad-vcpus.yaml',
    'kind: script\nvm: { vcpus: two }\nops: [{ op: sti }]\n',
    /bad-vcpus\.yaml: vm\.vcpus: expected an integer 1\.\.64, got "two"/,
  ],
  [
    'bad-msr.yaml',
    'kind: script\nops: [{ op: rdmsr, msr: MSR_NOPE }]\n',
    /bad-msr\.yaml: ops\[0\]\.msr: expected a MSR name \(/,
  ],
  ['bad-yaml.yaml', 'kind: script\nops: [\n', /bad-yaml\.yaml: \(top level\): not valid YAML/],
  [
    'bad-era.yaml',
    'kind: script\nera: "1.0"\nops: [{ op: sti }]\n',
    /bad-era\.yaml: era: expected one of .*"6\.18"/,
  ],
  [
    'extra-field.yaml',
    'kind: script\nops: [{ op: sti, when: now }]\n',
    /extra-field\.yaml: ops\[0\]: unknown field\(s\) "when"; known fields: op, vcpu \(at \S+extra-field\.yaml:\d+:\d+\)/,
  ],
  [
    'range.yaml',
    'kind: script\nops: [{ op: read_mem, gpa: 0x100000, size: 4 }]\n',
    /range\.yaml: ops\[0\]\.gpa: expected an address whose 4 bytes lie in guest RAM/,
  ],
  [
    'vcpu-index.yaml',
    'kind: script\nops: [{ op: sti, vcpu: 1 }]\n',
    /vcpu-index\.yaml: ops\[0\]\.vcpu: expected a vCPU index 0\.\.0, got 1/,
  ],
];

for (const [name, text, re] of badInputs) {
  test(`kvmsim script: ${name} → one line naming file and field, exit 2`, () => {
    const r = kvmsim('script', scenario(name, text));
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
}

test('kvmsim script: a missing file and a bad flag value are one-line errors with exit 2', () => {
  const missing = kvmsim('script', join(dir, 'nope.yaml'));
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /nope\.yaml: \(top level\): cannot read the file \(ENOENT\)/);
  const era = kvmsim('script', join(import.meta.dirname, '../../examples/apf-basic.yaml'), '--era', '9.9');
  assert.equal(era.status, 2);
  assert.match(era.stderr, /--era: expected one of/);
  assert.equal(era.stderr.trim().split('\n').length, 1);
});

test('kvmsim script --json prints one JSON object per line and exits 0', () => {
  const r = kvmsim('script', join(import.meta.dirname, '../../examples/apf-basic.yaml'), '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(lines[0], { op: 0, kind: 'apic_enable', result: 'ok' });
  assert.ok(lines.some((l) => l.event === '#PF' && l.cr2 === '0x1000'));
});
