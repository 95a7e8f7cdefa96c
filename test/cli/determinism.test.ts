// issue 12 item 10: every output is byte-identical between two runs. Explore's wall-clock figures (time,
// states/s, JSON millis) appear only with --timing. Checked on two separate processes for one explore, and
// in-process, twice each, over a handful of examples in every output format: a script transcript (table,
// JSON lines, tracepoints and --ftrace), run with --trace/--ftrace, explore (text, --json, --save, s390),
// and replay with its traces.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { runCliCases } from '../test_utils/cli_cases.ts';

const root = join(import.meta.dirname, '../..');
const ex = (p: string) => join(root, 'examples', p);

test('two explore processes print the same bytes; no wall-clock figure without --timing', () => {
  const run = () =>
    spawnSync(process.execPath, [join(root, 'bin/kvmsim.js'), 'explore', ex('explore/token-zero.yaml')], {
      encoding: 'utf8',
    });
  const a = run();
  const b = run();
  assert.equal(a.status, 1, a.stderr);
  assert.equal(a.stdout, b.stdout);
  assert.doesNotMatch(a.stdout, /states\/s|\d s\b/);
});

test('every output format of a handful of examples, twice: byte-identical files and stdout; --timing', () => {
  const dirs = [0, 1].map(() => mkdtempSync(join(tmpdir(), 'kvmsim-determinism-')));
  const lines = (d: string) => [
    ['script', ex('apf-basic.yaml')],
    ['script', ex('bugs/token-zero.yaml'), '--json'],
    ['script', ex('mmu/ksm-merge-then-fault.yaml'), '--trace-events', '--ftrace', join(d, 'script.ftrace')],
    ['script', ex('s390/alert-kick-deliver.yaml'), '--json'],
    ['run', ex('sim/web-overcommit.yaml'), '--max-events', '20000', '--json', '--trace', join(d, 'run.json')],
    ['run', ex('sim/calibration.yaml'), '--max-events', '20000', '--ftrace', join(d, 'run.ftrace')],
    ['explore', ex('explore/token-zero.yaml'), '--save', join(d, 'cx.json')],
    ['explore', ex('explore/token-zero.yaml'), '--json'],
    ['explore', ex('explore/no-retry-check.yaml'), '--json', '--dfs'],
    ['explore', ex('s390/explore/lost-ai-pre-f3.yaml')],
    ['explore', ex('s390/explore/lost-ai-pre-f3.yaml'), '--json'],
    ['replay', join(d, 'cx.json'), '--trace', join(d, 'replay.json'), '--ftrace', join(d, 'replay.ftrace')],
  ];
  const timing = [
    ['explore', ex('explore/token-zero.yaml'), '--timing'],
    ['explore', ex('explore/token-zero.yaml'), '--timing', '--json'],
  ];
  const results = runCliCases([...dirs.flatMap((d) => lines(d)), ...timing].map((args) => ({ args })));
  const n = lines(dirs[0]!).length;
  // --timing adds the wall-clock figures back (text and JSON).
  assert.match(results[2 * n]!.stdout, /, \d+\.\d\d s, \d+ states\/s/);
  const stats = (JSON.parse(results[2 * n + 1]!.stdout) as { stats: { millis?: number } }).stats;
  assert.equal(typeof stats.millis, 'number');
  for (let i = 0; i < n; i++) {
    const a = results[i]!;
    const b = results[n + i]!;
    const what = lines(dirs[0]!)[i]!.join(' ');
    assert.ok([0, 1, 3].includes(a.status), `${what}: ${a.stderr}`);
    assert.equal(a.status, b.status, what);
    // Paths differ between the two folders; nothing else may.
    assert.equal(a.stdout.replaceAll(dirs[0]!, 'D'), b.stdout.replaceAll(dirs[1]!, 'D'), what);
    assert.doesNotMatch(a.stdout, /millis|states\/s/, what);
  }
  const files = readdirSync(dirs[0]!).sort();
  assert.deepEqual(files, [
    'cx.json',
    'replay.ftrace',
    'replay.json',
    'run.ftrace',
    'run.json',
    'script.ftrace',
  ]);
  assert.deepEqual(readdirSync(dirs[1]!).sort(), files);
  for (const f of files)
    assert.equal(
      readFileSync(join(dirs[0]!, f), 'utf8').replaceAll(dirs[0]!, 'D'),
      readFileSync(join(dirs[1]!, f), 'utf8').replaceAll(dirs[1]!, 'D'),
      f,
    );
});
