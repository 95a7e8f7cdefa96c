// `arch: s390` scenarios go through the same kvmsim commands as x86 ones.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '../..');
const kvmsim = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin/kvmsim.js'), ...args], { encoding: 'utf8', cwd: root });

test('kvmsim script runs an s390 script (exit 0, its expects hold)', () => {
  const r = kvmsim('script', 'examples/s390/alert-kick-deliver.yaml', '--json');
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.ok(lines.length > 3);
  assert.ok(lines.every((l) => l.result !== 'fail'));
});

test('kvmsim explore finds the pre-6.6 destroy busy-wait (s390-gib F5) and exits 1', () => {
  const r = kvmsim('explore', 'examples/s390/explore/destroy-pre-f5.yaml');
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /destroy busy-waits/);
});

test('x86-only flags on an s390 script are a one-line usage error', () => {
  const r = kvmsim('script', 'examples/s390/alert-kick-deliver.yaml', '--backend', 'kvm');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /x86 scripts only/);
});
