// issue 13, "Suites like kvm-unit-tests and the selftests": `kvmsim script|diff FILE...` run many files in
// one process and report one line per file and a summary; --tap is TAP version 13 (checked by a strict
// TAP-13 reader below), --junit writes JUnit XML, --json one object per file. A failing expect exits 1
// naming the first mismatch; one file alone keeps today's output.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/kvmsim.js');
const kvmsim = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    cwd: root,
    env: { ...process.env, ...env },
  });
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-suite-'));

const compatAndBugs = ['examples/compat/*.yaml', 'examples/bugs/*.yaml'];

/**
 * A strict TAP version 13 reader: the version line first, one plan (1..N) before or after the tests,
 * test lines `ok|not ok NUMBER - description [# SKIP|TODO reason]` numbered 1..N in order, YAML blocks
 * (indented `---` … `...`) only after a test line, comments and nothing else. Returns the tests.
 */
function parseTap13(text: string): Array<{ ok: boolean; n: number; name: string; skip: string | null }> {
  const lines = text.split('\n');
  assert.equal(lines.pop(), '', 'TAP output ends with a newline');
  assert.equal(lines[0], 'TAP version 13', 'the first line is the version');
  let plan: number | null = null;
  const tests: Array<{ ok: boolean; n: number; name: string; skip: string | null }> = [];
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i]!;
    const p = /^1\.\.(\d+)$/.exec(l);
    if (p) {
      assert.equal(plan, null, 'one plan');
      assert.ok(
        tests.length === 0 || i === lines.length - 1 || lines.slice(i + 1).every((x) => x.startsWith('#')),
      );
      plan = Number(p[1]);
      continue;
    }
    const t = /^(ok|not ok) (\d+) - ([^#]*?)(?: # (SKIP|TODO)\b ?(.*))?$/.exec(l);
    if (t) {
      tests.push({
        ok: t[1] === 'ok',
        n: Number(t[2]),
        name: t[3]!,
        skip: t[4] === 'SKIP' ? (t[5] ?? '') : null,
      });
      assert.equal(Number(t[2]), tests.length, `test ${tests.length} is numbered in order`);
      continue;
    }
    if (l === '  ---') {
      assert.ok(tests.length > 0, 'a YAML block follows a test line');
      for (i++; i < lines.length && lines[i] !== '  ...'; i++) assert.match(lines[i]!, /^ {2}\S/);
      assert.equal(lines[i], '  ...', 'the YAML block is closed');
      continue;
    }
    if (l.startsWith('#')) continue;
    assert.fail(`not a TAP 13 line: ${JSON.stringify(l)}`);
  }
  assert.equal(plan, tests.length, 'the plan matches the tests');
  return tests;
}

test('the parser refuses what is not TAP 13 (it can fail)', () => {
  assert.throws(() => parseTap13('1..1\nok 1 - a\n'));
  assert.throws(() => parseTap13('TAP version 13\n1..2\nok 1 - a\n'));
  assert.throws(() => parseTap13('TAP version 13\n1..1\nok 2 - a\n'));
  assert.throws(() => parseTap13('TAP version 13\n1..1\nPASS a\n'));
  assert.throws(() => parseTap13('TAP version 13\n1..1\nnot ok 1 - a\n  ---\n  message: x\n'));
});

test('kvmsim script examples/compat/*.yaml examples/bugs/*.yaml: a line per file and the summary', () => {
  const r = kvmsim(['script', ...compatAndBugs]);
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.equal(lines.length, 17);
  assert.equal(lines.at(-1), '16 passed, 0 failed, 0 skipped');
  // Sorted within each argument, in argument order.
  assert.match(
    lines[0]!,
    /^PASS examples\/compat\/new-guest-new-host\.yaml: 10 records, 9 expectations hold$/,
  );
  assert.match(lines[5]!, /^PASS examples\/bugs\/ack-before-clear\.yaml: /);
  for (const l of lines.slice(0, -1))
    assert.match(l, /^PASS examples\/(compat|bugs)\/[\w.-]+\.yaml: \d+ records, \d+ expectations hold$/);
  assert.equal(r.stderr, '');
});

test('--tap parses as TAP version 13; --junit writes the same results as XML', () => {
  const junit = join(dir, 'results.xml');
  const r = kvmsim(['script', ...compatAndBugs, '--tap', '--junit', junit]);
  assert.equal(r.status, 0, r.stderr);
  const tests = parseTap13(r.stdout);
  assert.equal(tests.length, 16);
  assert.ok(tests.every((t) => t.ok && t.skip === null));
  assert.equal(tests[15]!.name, 'examples/bugs/wake-all-leaks-dummies.yaml');
  const xml = readFileSync(junit, 'utf8');
  assert.match(
    xml,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<testsuites name="kvmsim script" tests="16" failures="0" skipped="0">/,
  );
  assert.equal(xml.match(/<testcase /g)?.length, 16);
});

test('a failing expect: exit 1 with the first mismatch named (one file: the transcript as always, the mismatch on stderr)', () => {
  const text = readFileSync(join(root, 'examples/bugs/token-zero.yaml'), 'utf8').replace(
    'bugs: [token-zero]',
    'bugs: []',
  );
  const broken = join(dir, 'token-zero-fixed.yaml');
  writeFileSync(broken, text);
  const one = kvmsim(['script', broken]);
  assert.equal(one.status, 1);
  assert.match(one.stdout, /^ {2}0 apic_enable {2}ok\n/);
  assert.equal(
    one.stderr,
    `kvmsim: ${broken}: expect.ops[0]: op 5 (touch): value: expected 0x0, got 0x1000 (and 1 more mismatch)\n`,
  );
  const suite = kvmsim(['script', 'examples/bugs/token-zero.yaml', broken]);
  assert.equal(suite.status, 1);
  assert.deepEqual(suite.stdout.split('\n'), [
    'PASS examples/bugs/token-zero.yaml: 17 records, 6 expectations hold',
    `FAIL ${broken}: expect.ops[0]: op 5 (touch): value: expected 0x0, got 0x1000 (and 1 more mismatch)`,
    '1 passed, 1 failed, 0 skipped',
    '',
  ]);
  const tap = parseTap13(kvmsim(['script', 'examples/bugs/token-zero.yaml', broken, '--tap']).stdout);
  assert.deepEqual(
    tap.map((t) => t.ok),
    [true, false],
  );
});

test('a directory runs every *.yaml below it; a bad file is a FAIL line with its error, exit 2', () => {
  const d = join(dir, 'suite');
  mkdirSync(join(d, 'sub'), { recursive: true });
  writeFileSync(join(d, 'b.yaml'), 'kind: script\nvm: { memory: 4MiB }\nops: [{ op: sti }]\n');
  writeFileSync(join(d, 'sub', 'a.yaml'), 'kind: script\nvm: { memory: 4096 }\nops: [{ op: sti }]\n');
  writeFileSync(join(d, 'notes.txt'), 'not a scenario');
  const r = kvmsim(['script', d, '--json']);
  assert.equal(r.status, 2, r.stderr);
  const objs = r.stdout
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.deepEqual(
    objs.map((o) => [o.file, o.status, o.exit_code]),
    [
      [join(d, 'b.yaml'), 'pass', 0],
      [join(d, 'sub', 'a.yaml'), 'fail', 2],
      [undefined, undefined, 2],
    ],
  );
  assert.match(objs[1].reason, /^vm\.memory: a size needs a unit: B, K or KiB/);
  assert.deepEqual(objs[2].summary, { passed: 1, failed: 1, skipped: 0 });
});

test('an s390 script joins a suite (its expect ops decide)', () => {
  const r = kvmsim(['script', 'examples/s390/alert-kick-deliver.yaml', 'examples/apf-basic.yaml']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(
    r.stdout,
    /^PASS examples\/s390\/alert-kick-deliver\.yaml: \d+ records, expectations hold\nPASS examples\/apf-basic\.yaml: \d+ records, no expect block\n2 passed, 0 failed, 0 skipped\n$/,
  );
});

test('kvmsim diff of many files: files the kernel backend cannot run are SKIPped with the reason, exit 0', () => {
  const r = kvmsim(['diff', 'examples/bugs/token-zero.yaml', 'examples/apf-basic.yaml', '--tap'], {
    KVM_ORACLE: 'off',
  });
  assert.equal(r.status, 0, r.stderr);
  const tests = parseTap13(r.stdout);
  assert.deepEqual(
    tests.map((t) => [t.name, t.skip]),
    [
      ['examples/bugs/token-zero.yaml', 'kernel backend unavailable: KVM_ORACLE=off'],
      ['examples/apf-basic.yaml', 'kernel backend unavailable: KVM_ORACLE=off'],
    ],
  );
  assert.match(r.stdout, /# 0 passed, 0 failed, 2 skipped\n$/);
});

test('kvmsim diff --json, one file: a documented object, exit 4 when the backend is unavailable', () => {
  const r = kvmsim(['diff', 'examples/apf-basic.yaml', '--json'], { KVM_ORACLE: 'off' });
  assert.equal(r.status, 4);
  assert.deepEqual(JSON.parse(r.stdout), {
    file: 'examples/apf-basic.yaml',
    verdict: 'unavailable',
    reason: 'KVM_ORACLE=off',
  });
});

test("one file keeps today's output exactly (the stored outputs)", () => {
  for (const [name, args] of [
    ['bugs__token-zero.script.out', ['script', 'examples/bugs/token-zero.yaml']],
    [
      'compat__new-guest-new-host.script-json.out',
      ['script', 'examples/compat/new-guest-new-host.yaml', '--json'],
    ],
  ] as const) {
    const r = kvmsim([...args]);
    assert.equal(
      `${r.stdout}exit ${r.status}\n`,
      readFileSync(join(root, 'test/golden/outputs', name), 'utf8'),
    );
  }
});

test('kvmsim replay --json: one object with the verdict and the steps (the text has the same steps)', () => {
  const cx = join(root, 'test/golden/outputs/explore__token-zero.cx.json');
  const j = kvmsim(['replay', cx, '--json']);
  const t = kvmsim(['replay', cx]);
  assert.equal(j.status, 1, j.stderr);
  assert.equal(t.status, 1);
  const o = JSON.parse(j.stdout);
  assert.equal(o.verdict, 'reproduced');
  assert.equal(o.property, 'no-token-zero');
  assert.deepEqual(Object.keys(o), [
    'file',
    'name',
    'property',
    'kind',
    'verdict',
    'relabelled',
    'initial',
    'loop_start',
    'steps',
  ]);
  assert.ok(o.steps.length > 0);
  for (const [k, st] of o.steps.entries()) assert.ok(t.stdout.includes(`${k + 1}. ${st.label}`), st.label);
});
