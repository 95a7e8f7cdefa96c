// The functions the generic `kvmsim script|run|explore` commands call for `arch: s390` files.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  EXPLORE_EXIT,
  exploreS390,
  parseMetricList,
  runS390ScriptFile,
  runS390Sim,
  s390FileKind,
  s390Kind,
} from '../../src/cli/s390_adapter.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';

const EX = join(import.meta.dirname, '../../examples/s390');
const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-s390-'));
const write = (name: string, text: string): string => {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
};

test('s390Kind recognises arch: s390 scenarios and leaves everything else to the x86 loaders', () => {
  assert.equal(s390Kind({ arch: 's390', kind: 'sim' }), 'sim');
  assert.equal(s390Kind({ arch: 's390', kind: 'explore' }), 'explore');
  assert.equal(s390Kind({ arch: 's390', kind: 'script' }), 'script');
  assert.equal(s390Kind({ kind: 'sim' }), null);
  assert.equal(s390Kind({ arch: 'x86', kind: 'sim' }), null);
  assert.equal(s390Kind(null), null);
  assert.equal(s390FileKind(join(EX, 'sim/claim-single-restart.yaml')), 'sim');
  assert.equal(s390FileKind(join(EX, 'alert-kick-deliver.yaml')), 'script');
});

test('runS390Sim: one seed with --seed, a markdown report, exit 0 when every direction holds', () => {
  const r = runS390Sim(join(EX, 'sim/claim-single-restart.yaml'), {
    seed: 2,
    metrics: ['restarts_per_alert'],
  });
  assert.equal(r.exitCode, 0);
  assert.deepEqual(r.result.seeds, [2]);
  assert.match(r.text, /\| restarts_per_alert \| /);
  assert.match(r.text, /holds 1\/1 seeds: restarts_per_alert v7 < v7-slow-wake/);
  const json = runS390Sim(join(EX, 'sim/claim-single-restart.yaml'), { seed: 2, json: true });
  assert.equal(JSON.parse(json.text).ok, true);
});

test('runS390Sim: a direction that fails for a seed is exit 1', () => {
  const f = write(
    'fails.yaml',
    `arch: s390
kind: sim
duration: 5ms
vms:
  - { name: a, vcpus: 1, run: 20us, wake_latency: 10us, devices: [{ isc: 3, interval: 200us }] }
variants: [{ name: v7, strategy: v7 }, { name: current }]
expect: [{ metric: ais, variant: v7, gt: current }]
`,
  );
  const r = runS390Sim(f);
  assert.equal(r.exitCode, 1);
  assert.match(r.text, /FAILS 0\/1 seeds: ais v7 > current/);
});

test('exploreS390: exit 0 when the properties hold, 1 with a counterexample, 3 when the budget runs out', () => {
  const cx = exploreS390(join(EX, 'explore/lost-ai-pre-f3.yaml'));
  assert.equal(cx.exitCode, EXPLORE_EXIT.counterexample);
  // One verdict line that says in words what the scenario expected (it used to read
  // "expected violation: destroy: kvm_s390_gisa_destroy of: as expected").
  assert.match(
    cx.text,
    /\nexpected: a violation of lost_ai whose message starts "kicker livelock" — as expected\n/,
  );
  assert.match(cx.text, /counterexample \(9 steps\):\n/);
  assert.equal(cx.saved?.property, 'lost_ai');
  assert.equal(cx.saved?.steps.length, 9);
  const budget = exploreS390(join(EX, 'explore/no-lost-ai.yaml'), { maxStates: 500 });
  assert.equal(budget.exitCode, EXPLORE_EXIT.budget);
  assert.match(
    budget.text,
    /: budget exhausted \(maxStates\) before the search finished; no violation so far\n/,
  );
  assert.match(budget.text, /\nexpected: all checked properties hold — NOT as expected\n/);
  assert.equal(budget.saved, null);
  const f5 = exploreS390(join(EX, 'explore/destroy-pre-f5.yaml'), { json: true });
  const j = JSON.parse(f5.text);
  assert.equal(j.verdict, 'counterexample');
  assert.equal(j.property, 'destroy');
  assert.equal(j.detail, 'kvm_s390_gisa_destroy of a busy-waits on a listed GISA');
  assert.deepEqual(j.steps, ['firmware_ai a isc 2', 'destroy a']);
  assert.deepEqual(j.expect, { violation: 'destroy: kvm_s390_gisa_destroy of', max_steps: 2 });
  assert.equal(j.asExpected, true);
});

test('runS390ScriptFile: the transcript, exit 0 for a clean script', () => {
  const r = runS390ScriptFile(join(EX, 'alert-kick-deliver.yaml'), { json: true });
  assert.equal(r.exitCode, 0);
  assert.equal(JSON.parse(r.text.split('\n')[0]!).kind, 'gib_init');
});

test('bad input is a one-line ScenarioError naming the file and the field', () => {
  const f = write(
    'bad.yaml',
    'arch: s390\nkind: sim\nduration: 1ms\nvms: [{ name: a, vcpus: 2, cr6: [[3]], run: 1us, wake_latency: 1us, devices: [{ isc: 3, interval: 1ms }] }]\n',
  );
  assert.throws(
    () => runS390Sim(f),
    (e: unknown) =>
      e instanceof ScenarioError &&
      /bad\.yaml: vms\[0\]\.cr6: expected one ISC list per vCPU \(2\)/.test(e.message),
  );
  const d = write('dur.yaml', 'arch: s390\nkind: sim\nduration: 1 min\nvms: []\n');
  assert.throws(() => runS390Sim(d), /dur\.yaml: duration: unknown duration unit/);
  assert.throws(
    () => exploreS390(join(EX, 'sim/claim-v5-kicks.yaml')),
    /kind: expected an arch: s390, kind: explore scenario, got sim/,
  );
  assert.throws(() => parseMetricList('ais,nope'), /--metrics: unknown metric "nope"/);
});
