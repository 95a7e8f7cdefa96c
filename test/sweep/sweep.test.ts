// kvmsim sweep on this machine (docs/sweeps.md): the kind: sweep loader's one-line errors, results that do
// not depend on the number of threads (--jobs 1 against --jobs 3, byte for byte), the output files and
// their agreed format, resuming from a points.jsonl cut short, and `kvmsim compare` on the same pool.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { runCliCases } from '../test_utils/cli_cases.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const sweepFile = join(fixtures, 'tiny-sweep.yaml');
const tiny = join(fixtures, 'tiny.yaml');
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-sweep-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const read = (d: string, f: string) => readFileSync(join(dir, d, f), 'utf8');
const FILES = ['points.jsonl', 'points.csv', 'summary.json'];

test('sweep: --jobs 3 equals --jobs 1 byte for byte; the agreed files; a resumed run; compare on the pool', () => {
  // A resumed directory: the fingerprint and 5 finished rows of a run, in another order, then half a line.
  const cases = [
    { args: ['sweep', sweepFile, '--out', join(dir, 'serial'), '--jobs', '1'] },
    { args: ['sweep', sweepFile, '--out', join(dir, 'parallel'), '--jobs', '3'] },
    { args: ['sweep', sweepFile, '--out', join(dir, 'parallel'), '--jobs', '3', '--json'] },
  ];
  const [serial, parallel, again] = runCliCases(cases);
  for (const r of [serial!, parallel!, again!]) assert.equal(r.status, 0, r.stderr);
  assert.equal(parallel!.stdout, serial!.stdout);
  for (const f of FILES) assert.equal(read('parallel', f), read('serial', f), f);

  // Progress off a terminal: one line per finished point × seed, on stderr; none for the rerun (all done).
  const lines = serial!.stderr.split('\n').filter((l) => /^sweep: +\d+\/18 point \d+ \(host\.ram=/.test(l));
  assert.equal(lines.length, 18, serial!.stderr);
  assert.equal(again!.stderr, '');

  // The agreed format (the report reads it).
  const rows = read('serial', 'points.jsonl')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l));
  assert.equal(rows.length, 6 * 3);
  assert.deepEqual(Object.keys(rows[0]), ['pointIndex', 'point', 'seed', 'metrics']);
  assert.deepEqual(rows[4].point, { 'host.ram': '80MiB', 'vms[*].apf': 'sync' });
  assert.equal(rows[4].seed, 8);
  const metrics = [
    'total.work.task_cpu_rate',
    'total.faults.per_s',
    'total.page_ready.p99_us',
    'host.swap.utilization',
  ];
  assert.deepEqual(Object.keys(rows[0].metrics), metrics);
  // The seeds are not ignored: the same point with another seed gives other numbers.
  assert.notEqual(rows[0].metrics['total.faults.per_s'], rows[1].metrics['total.faults.per_s']);
  const csv = read('serial', 'points.csv').trimEnd().split('\n');
  assert.equal(csv[0], ['pointIndex', 'seed', 'host.ram', 'vms[*].apf', ...metrics].join(','));
  assert.equal(csv.length, 19);
  assert.match(csv[5]!, /^1,8,80MiB,sync,[0-9.]+,/);
  const summary = JSON.parse(read('serial', 'summary.json'));
  assert.equal(summary.kind, 'sweep');
  assert.match(summary.version, /^\d+\.\d+\.\d+/);
  assert.equal(summary.base, 'tiny.yaml');
  assert.equal(summary.scenario.kind, 'sweep');
  assert.deepEqual(summary.grid, [
    { path: 'host.ram', values: ['80MiB', '112MiB'] },
    { path: 'vms[*].apf', values: ['off', 'sync', 'interrupt'] },
  ]);
  assert.deepEqual(summary.seeds, [7, 8, 9]);
  assert.equal(summary.points.length, 6);
  const p5 = summary.points[5];
  assert.equal(p5.n, 3);
  const vals = rows.filter((r) => r.pointIndex === 5).map((r) => r.metrics['total.work.task_cpu_rate']);
  const mean = vals.reduce((a: number, b: number) => a + b, 0) / 3;
  assert.ok(Math.abs(p5.mean['total.work.task_cpu_rate'] - mean) < 1e-12);
  const [lo, hi] = p5.ci95['total.work.task_cpu_rate'];
  assert.ok(lo < mean && mean < hi);
  assert.deepEqual(JSON.parse(again!.stdout), summary);
  // The table: one row per point, mean ± CI.
  assert.match(serial!.stdout, /^tiny-sweep: 6 point\(s\) × 3 seed\(s\) \(7, 8, 9\) on tiny\.yaml/);
  assert.match(serial!.stdout, /\n5 +112MiB +interrupt +[0-9.]+ ± [0-9.]+ /);

  // Resume: 5 rows in reverse order and a line cut short; the rerun runs the 13 others and ends equal.
  const resumed = join(dir, 'resumed');
  mkdirSync(resumed);
  copyFileSync(join(dir, 'serial', 'fingerprint'), join(resumed, 'fingerprint'));
  const kept = read('serial', 'points.jsonl').split('\n').slice(0, 6);
  writeFileSync(
    join(resumed, 'points.jsonl'),
    `${kept.slice(0, 5).reverse().join('\n')}\n${kept[5]!.slice(0, 40)}`,
  );
  const other = join(dir, 'other.yaml');
  writeFileSync(
    other,
    readFileSync(sweepFile, 'utf8')
      .replace('seeds: 3', 'seeds: 2')
      .replace('base: tiny.yaml', `base: ${tiny}`),
  );
  const [res, clash, cmp1, cmp2, cmpJson1, cmpJson2, budget] = runCliCases([
    { args: ['sweep', sweepFile, '--out', resumed, '--jobs', '2'] },
    { args: ['sweep', other, '--out', join(dir, 'serial')] },
    { args: ['compare', tiny, '--apf', 'off,interrupt', '--seeds', '2', '--jobs', '1'] },
    { args: ['compare', tiny, '--apf', 'off,interrupt', '--seeds', '2', '--jobs', '2'] },
    { args: ['compare', tiny, '--era', '5.15,6.8', '--seeds', '2', '--jobs', '1', '--json'] },
    { args: ['compare', tiny, '--era', '5.15,6.8', '--seeds', '2', '--jobs', '3', '--json'] },
    {
      args: ['compare', tiny, '--apf', 'off,interrupt', '--seeds', '2', '--jobs', '2', '--max-events', '100'],
    },
  ]);
  assert.equal(res!.status, 0, res!.stderr);
  assert.equal(res!.stderr.split('\n').filter((l) => /^sweep: +\d+\/18 /.test(l)).length, 13, res!.stderr);
  assert.match(res!.stderr, /^sweep: +6\/18 /);
  for (const f of FILES) assert.equal(readFileSync(join(resumed, f), 'utf8'), read('serial', f), f);
  assert.equal(res!.stdout, serial!.stdout);
  assert.equal(clash!.status, 2);
  assert.match(clash!.stderr, /^kvmsim: --out .*serial: holds the results of another sweep/);

  // compare: the same table and JSON from the pool as from the serial run; budgets name the first run.
  for (const r of [cmp1!, cmp2!, cmpJson1!, cmpJson2!]) assert.equal(r.status, 0, r.stderr);
  assert.equal(cmp2!.stdout, cmp1!.stdout);
  assert.equal(cmpJson2!.stdout, cmpJson1!.stdout);
  assert.equal(budget!.status, 3);
  assert.equal(budget!.stdout, '');
  assert.match(budget!.stderr, /budget: --max-events reached in run 1 of 4 \(apf off, seed 7\)/);
});

test('sweep: a bad sweep file is one line naming the file and the field, exit 2', () => {
  const base = `base: ${JSON.stringify(tiny)}\n`;
  const bad: [string, string, RegExp][] = [
    [
      'path',
      `kind: sweep\n${base}grid: [{ path: "host..ram", values: [1] }]\n`,
      /: grid\[0\]\.path: expected a field path such as/,
    ],
    [
      'value',
      `kind: sweep\n${base}grid: [{ path: host.ram, values: [128MiB, 1MiB] }]\n`,
      /: grid\[0\]\.values\[1\]: at point 1 \(host\.ram = "1MiB"\) the base scenario is not valid: host\.ram: /,
    ],
    [
      'enum',
      `kind: sweep\n${base}grid: [{ path: "vms[*].apf", values: [interrupt, fast] }]\n`,
      /: grid\[0\]\.values\[1\]: .*vms\[0\]\.apf: expected one of "off", "sync", "legacy", "interrupt"/,
    ],
    [
      'with',
      `kind: sweep\n${base}grid: [{ path: host.ram, values: [128MiB], with: { "vms[*].initial_residency": [0.5, 0.6] } }]\n`,
      /: grid\[0\]\.with\.vms\[\*\]\.initial_residency: expected 1 value\(s\), one per value of host\.ram, got 2/,
    ],
    [
      'index',
      `kind: sweep\n${base}grid: [{ path: "vms[3].apf", values: [off] }]\n`,
      /: grid\[0\]\.path: does not fit the base scenario: vms\[3\]: the list has 1 element/,
    ],
    [
      'twice',
      `kind: sweep\n${base}set: { host.ram: 128MiB }\ngrid: [{ path: host.ram, values: [128MiB] }]\n`,
      /: grid\[0\]\.path: host\.ram is varied twice/,
    ],
    [
      'metric',
      `kind: sweep\n${base}grid: [{ path: host.ram, values: [128MiB] }]\nmetrics: [total.work, total.nope]\n`,
      /: metrics\[0\]: total\.work is not a number in the output of kvmsim run --json \(a group of fields\)/,
    ],
    [
      'base',
      'kind: sweep\nbase: nowhere.yaml\ngrid: [{ path: host.ram, values: [128MiB] }]\n',
      /: base: the base scenario is not usable: .*nowhere\.yaml: \(top level\): cannot read the file/,
    ],
    [
      'seeds',
      `kind: sweep\n${base}grid: [{ path: host.ram, values: [128MiB] }]\nseeds: [1, 1]\n`,
      /: seeds: a seed is listed twice/,
    ],
    ['kind', `kind: sim\n${base}`, /: kind: expected one of "sweep"/],
  ];
  const files = bad.map(([name, text]) => {
    const f = join(dir, `bad-${name}.yaml`);
    writeFileSync(f, text);
    return f;
  });
  const results = runCliCases([
    ...files.map((f) => ({ args: ['sweep', f, '--out', join(dir, 'never')] })),
    { args: ['sweep', sweepFile, '--jobs', '0'] },
    { args: ['sweep', sweepFile, '--queue', 'http://x'] },
    { args: ['worker', 'redis://h:1', '--lock-duration', '10ms'] },
  ]);
  bad.forEach(([name], i) => {
    const r = results[i]!;
    assert.equal(r.status, 2, `${name}: ${r.stderr}`);
    assert.equal(r.stdout, '', name);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: ${r.stderr}`);
    assert.ok(r.stderr.startsWith(`kvmsim: ${files[i]}: `), `${name}: ${r.stderr}`);
    assert.match(r.stderr, bad[i]![2], name);
  });
  const [jobs, queue, lock] = results.slice(bad.length);
  assert.match(jobs!.stderr, /^kvmsim: --jobs: expected an integer 1\.\.1024, got "0"\n$/);
  assert.match(queue!.stderr, /^kvmsim: --queue: expected a Redis URL such as redis:\/\/127\.0\.0\.1:6379/);
  assert.match(lock!.stderr, /^kvmsim: --lock-duration: expected a duration like 30s/);
  for (const r of [jobs!, queue!, lock!]) assert.equal(r.status, 2);
});
