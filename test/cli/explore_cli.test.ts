// `kvmsim explore` and `kvmsim replay`: exit 0 when the properties hold, 1 with a counterexample (printed
// as a numbered step list with per-step diffs, and saved for replay), 2 for bad input (one line naming
// the file, the field and what is allowed), 3 when a budget runs out first.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadExplore } from '../../src/explore/x86/scenario.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const examples = join(import.meta.dirname, '../../examples/explore');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-explore-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('a counterexample: exit 1, a numbered step list with diffs, saved and replayed', () => {
  const saved = join(dir, 'cx.json');
  const r = kvmsim('explore', join(examples, 'token-zero.yaml'), '--save', saved);
  assert.equal(r.status, 1, r.stderr);
  assert.match(r.stdout, /^token-zero: counterexample for no-token-zero/);
  assert.match(r.stdout, /\n 1\. vcpu0 run/);
  assert.match(r.stdout, /vcpu0\.works: 0x0@0x4 -> 0x0@0x4\(done\)/);
  assert.match(r.stdout, /!! no-token-zero/);
  const json = JSON.parse(readFileSync(saved, 'utf8'));
  assert.equal(json.format, 'kvmsim-explore-counterexample');
  assert.equal(json.property, 'no-token-zero');
  const rep = kvmsim('replay', saved);
  assert.equal(rep.status, 1, rep.stderr);
  assert.match(rep.stdout, /reproduced: no-token-zero fails\n$/);
});

test('a replay that no longer fails exits 0; one whose steps no longer apply exits 2', () => {
  const saved = join(dir, 'cx2.json');
  kvmsim('explore', join(examples, 'token-zero.yaml'), '--save', saved);
  const json = JSON.parse(readFileSync(saved, 'utf8'));
  const fixed = file('fixed.json', JSON.stringify({ ...json, scenario: { ...json.scenario, bugs: [] } }));
  const r = kvmsim('replay', fixed);
  assert.equal(r.status, 0, r.stdout);
  assert.match(r.stdout, /not reproduced/);
  const bad = file('bad-steps.json', JSON.stringify({ ...json, steps: [{ id: 1, label: 'x' }] }));
  const b = kvmsim('replay', bad);
  // issue 12 item 9: one line on stderr naming the step, nothing on stdout.
  assert.equal(b.status, 2);
  assert.equal(b.stdout, '');
  assert.match(
    b.stderr,
    /^kvmsim: .*bad-steps\.json: steps\[0\]\.id: the replay diverged: step 1 \(id 1\) is not enabled/,
  );
  assert.equal(b.stderr.trim().split('\n').length, 1);
});

test('properties hold: exit 0 and the statistics line', () => {
  const r = kvmsim(
    'explore',
    file('ok.yaml', 'kind: explore\nguest: { kind: linux, tasks: [{ program: [{ touch: 0x4000 }] }] }\n'),
  );
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /all 13 properties hold/);
  assert.match(r.stdout, /safety search: \d+ states, \d+ transitions, depth \d+, \d+ words\/state/);
});

test('--json prints one object', () => {
  const r = kvmsim('explore', join(examples, 'cr0pg-clears-queue.yaml'), '--json', '--dfs');
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout);
  assert.equal(j.verdict, 'counterexample');
  assert.equal(j.property, 'no-lost-wakeup');
  assert.ok(j.steps.length > 0);
});

test('a budget that runs out: exit 3', () => {
  const r = kvmsim('explore', join(examples, 'per-cpu-working-set.yaml'), '--max-states', '50');
  assert.equal(r.status, 3, r.stderr);
  assert.match(r.stdout, /budget exhausted \(maxStates\)/);
});

const badInputs: Array<[string, string, RegExp]> = [
  ['no-guest.yaml', 'kind: explore\n', /no-guest\.yaml: guest: /],
  [
    'bad-cpu.yaml',
    'kind: explore\nguest: { kind: linux, tasks: [{ cpu: 1, program: [{ touch: 0x4000 }] }] }\n',
    /bad-cpu\.yaml: guest\.tasks\[0\]\.cpu: expected a CPU 0\.\.0, got 1/,
  ],
  [
    'bad-step.yaml',
    'kind: explore\nguest: { kind: linux, tasks: [{ program: [{ tuch: 0x4000 }] }] }\n',
    /bad-step\.yaml: guest\.tasks\[0\]\.program\[0\]: unknown field\(s\) "tuch"/,
  ],
  [
    'host-op.yaml',
    'kind: explore\nguest: { kind: bare, vcpus: [[{ op: run }]] }\n',
    /host-op\.yaml: guest\.vcpus\[0\]\[0\]\.op: expected one of wrmsr, .* got "run"/,
  ],
  [
    'bad-property.yaml',
    'kind: explore\nguest: { kind: linux, tasks: [{ program: [{ touch: 0x4000 }] }] }\nproperties: [no-bugs]\n',
    /bad-property\.yaml: properties\[0\]: expected one of "no-guest-panic"/,
  ],
  [
    'too-many-pages.yaml',
    'kind: explore\nguest: { kind: linux, tasks: [{ program: [{ touch: 0x1000 }, { touch: 0x2000 }, { touch: 0x3000 }, { touch: 0x4000 }, { touch: 0x5000 }] }] }\n',
    /too-many-pages\.yaml: guest: expected at most 4 distinct pages touched, got 5/,
  ],
];

test('bad scenarios: one line naming the file, the field and what is allowed', () => {
  for (const [name, text, message] of badInputs) {
    const f = file(name, text);
    assert.throws(
      () => loadExplore(f),
      (e: Error) => e instanceof ScenarioError && message.test(e.message) && !e.message.includes('\n'),
      name,
    );
  }
});

test('bad input on the command line: exit 2, one line on stderr, nothing on stdout', () => {
  const [name, text, message] = badInputs[1]!;
  const r = kvmsim('explore', file(name, text));
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, message);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  const f = kvmsim('explore', join(examples, 'token-zero.yaml'), '--max-states', '0');
  assert.equal(f.status, 2);
  assert.match(f.stderr, /^kvmsim: --max-states: expected an integer/);
  const j = kvmsim('replay', file('not-json.json', '{'));
  assert.equal(j.status, 2);
  assert.match(j.stderr, /not-json\.json: \(top level\): cannot read a JSON counterexample/);
});
