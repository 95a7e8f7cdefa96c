// `kvmsim explore --save` and `kvmsim replay` for arch: s390 (issue 17), and the one `explore --json` shape both
// arches print (docs/explorer.md, "JSON output"). The saved file is the x86 envelope; replay dispatches on the
// embedded scenario's `arch: s390`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '../..');
const kvmsim = (...args: string[]) =>
  spawnSync(process.execPath, [join(root, 'bin/kvmsim.js'), ...args], { encoding: 'utf8', cwd: root });
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-s390-save-'));
const EX = 'examples/s390/explore';

for (const [name, steps, property] of [
  ['walk-after-destroy.yaml', 5, 'no-walk-after-destroy'],
  ['walk-after-destroy-pre-6.6.yaml', 6, 'no-walk-after-destroy'],
  ['destroy-pre-f5.yaml', 2, 'destroy'],
] as const) {
  test(`${name}: explore --save writes the counterexample, replay reproduces it (exit 1)`, () => {
    const saved = join(dir, `${name}.cx.json`);
    const r = kvmsim('explore', join(EX, name), '--save', saved);
    assert.equal(r.status, 1, r.stderr);
    assert.equal(r.stderr, '');
    const j = JSON.parse(readFileSync(saved, 'utf8'));
    assert.equal(j.format, 'kvmsim-explore-counterexample');
    assert.equal(j.version, 1);
    assert.equal(j.scenario.arch, 's390');
    assert.equal(j.property, property);
    assert.equal(j.kind, 'invariant');
    assert.equal(j.steps.length, steps);
    assert.deepEqual(j.loop, []);
    const rep = kvmsim('replay', saved);
    assert.equal(rep.status, 1, rep.stderr);
    assert.match(rep.stdout, new RegExp(`replay of a counterexample for ${property}, ${steps} steps\\n`));
    assert.match(rep.stdout, new RegExp(`\\nreproduced: ${property}: `));
    // The replay prints the same steps explore printed.
    const trace = r.stdout.slice(r.stdout.indexOf('initial state:'));
    assert.ok(rep.stdout.includes(trace.trimEnd()), 'replay renders the counterexample as explore does');
  });
}

test('replay: a saved step that is not enabled is bad input (exit 2, one line, nothing on stdout)', () => {
  const saved = join(dir, 'tamper.cx.json');
  kvmsim('explore', join(EX, 'walk-after-destroy.yaml'), '--save', saved);
  const j = JSON.parse(readFileSync(saved, 'utf8'));
  j.steps[1] = { id: 99999, label: 'x' };
  const bad = join(dir, 'tampered.cx.json');
  writeFileSync(bad, JSON.stringify(j));
  const r = kvmsim('replay', bad);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(
    r.stderr,
    /tampered\.cx\.json: steps\[1\]\.id: the replay diverged: step 2 \(id 99999\) is not enabled/,
  );
  assert.equal(r.stderr.trim().split('\n').length, 1);
  const wrongProp = join(dir, 'wrong-prop.cx.json');
  writeFileSync(
    wrongProp,
    JSON.stringify({ ...JSON.parse(readFileSync(saved, 'utf8')), property: 'no-token-zero' }),
  );
  const p = kvmsim('replay', wrongProp);
  assert.equal(p.status, 2);
  assert.match(
    p.stderr,
    /wrong-prop\.cx\.json: property: expected one of list, lost_ai, destroy, no-walk-after-destroy/,
  );
  const t = kvmsim('replay', saved, '--trace', join(dir, 't.json'));
  assert.equal(t.status, 2);
  assert.match(t.stderr, /--trace: x86 counterexamples only/);
});

test('replay: steps that no longer violate the property give exit 0 (not reproduced)', () => {
  const saved = join(dir, 'fixed.cx.json');
  kvmsim('explore', join(EX, 'walk-after-destroy.yaml'), '--save', saved);
  const j = JSON.parse(readFileSync(saved, 'utf8'));
  // The same steps on the what-if host: destroy now waits for the walk, so nothing freed is touched.
  j.scenario.what_if = { destroy_waits_for_walks: true };
  const fixed = join(dir, 'fixed2.cx.json');
  writeFileSync(fixed, JSON.stringify(j));
  const r = kvmsim('replay', fixed);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /not reproduced: the steps run but no-walk-after-destroy no longer fails\n$/);
});

test('explore --save without a counterexample writes nothing (exit 0)', () => {
  const sub = mkdtempSync(join(dir, 'ok-'));
  const r = kvmsim(
    'explore',
    join(EX, 'walk-after-destroy.yaml'),
    '--save',
    join(sub, 'cx.json'),
    '--max-states',
    '10',
  );
  assert.equal(r.status, 3, r.stderr);
  assert.deepEqual(readdirSync(sub), []);
  assert.equal(existsSync(join(sub, 'cx.json')), false);
});

test('explore --json: one shape for x86 and s390', () => {
  const s = JSON.parse(kvmsim('explore', join(EX, 'destroy-pre-f5.yaml'), '--json').stdout);
  const x = JSON.parse(kvmsim('explore', 'examples/explore/token-zero.yaml', '--json').stdout);
  const top = ['file', 'arch', 'name', 'verdict', 'property', 'kind', 'steps', 'loop'];
  assert.deepEqual(
    Object.keys(x).filter((k) => top.includes(k)),
    top,
  );
  assert.deepEqual(
    Object.keys(s).filter((k) => top.includes(k)),
    top,
  );
  assert.equal(s.arch, 's390');
  assert.equal(x.arch, 'x86');
  for (const k of ['states', 'transitions', 'expanded', 'maxDepth', 'bytes', 'bytesPerState', 'stateWords']) {
    assert.equal(typeof s.stats[k], 'number', `s390 stats.${k}`);
    assert.equal(typeof x.stats[k], 'number', `x86 stats.${k}`);
  }
  assert.deepEqual(
    Object.keys(s.stats),
    Object.keys(x.stats).filter((k) => k !== 'liveness'),
  );
  assert.ok(Array.isArray(s.steps) && s.steps.every((l: unknown) => typeof l === 'string'));
  const ok = JSON.parse(
    kvmsim('explore', join(EX, 'walk-after-destroy.yaml'), '--json', '--max-states', '10').stdout,
  );
  assert.equal(ok.verdict, 'budget');
  assert.equal(ok.budget, 'maxStates');
  assert.equal('property' in ok || 'steps' in ok, false);
});
