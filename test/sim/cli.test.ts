// `kvmsim run` and `kvmsim compare`: bad input is one line naming the file and the field, exit 2;
// good input prints the table, JSON, and the trace files.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-sim-cli-'));
const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

const base = `kind: sim
duration: 5ms
host: { ram: 1GiB, swap: { channels: 2, latency: 100us } }
`;
const vm = (extra = '', workload = 'pattern: { kind: uniform }') =>
  `vms:\n  - { memory: 64MiB, vcpus: 2${extra}, workload: { tasks_per_vcpu: 2, ${workload} } }\n`;

const bad: Array<[string, string, RegExp]> = [
  ['no-vms.yaml', `${base}vms: []\n`, /no-vms\.yaml: vms: expected at least one VM/],
  [
    'bad-apf.yaml',
    base + vm(', apf: fast'),
    /bad-apf\.yaml: vms\[0\]\.apf: expected one of "off", "sync", "legacy", "interrupt"/,
  ],
  [
    'bad-pattern.yaml',
    base + vm('', 'pattern: { kind: random }'),
    /bad-pattern\.yaml: vms\[0\]\.workload\.pattern\.kind: expected one of "uniform", "hotcold", "scan", "zipf", "bernoulli", got "random"/,
  ],
  [
    'bad-hot.yaml',
    base + vm('', 'pattern: { kind: hotcold, hot_pages: 2, hot_touches: 0.5 }'),
    /bad-hot\.yaml: vms\[0\]\.workload\.pattern\.hot_pages: hot_pages must be <= 1/,
  ],
  [
    'bad-latency.yaml',
    `kind: sim\nduration: 5ms\nhost: { ram: 1GiB, swap: { latency: 10 min } }\n${vm()}`,
    /bad-latency\.yaml: host\.swap\.latency: unknown duration unit "min"/,
  ],
  [
    'bad-dist.yaml',
    `kind: sim\nduration: 5ms\nhost: { ram: 1GiB, swap: { latency: { dist: normal, mean: 1us } } }\n${vm()}`,
    /bad-dist\.yaml: host\.swap\.latency\.dist: expected one of "constant"/,
  ],
  [
    'bad-ram.yaml',
    `kind: sim\nduration: 5ms\nhost: { ram: 16MiB, swap: { latency: 100us } }\n${vm()}`,
    /bad-ram\.yaml: host\.ram: the VMs' initial residency needs/,
  ],
  [
    'bad-ws.yaml',
    base + vm('', 'working_set: 1GiB, pattern: { kind: uniform }'),
    /bad-ws\.yaml: vms\[0\]\.workload\.working_set: expected a multiple of 4KiB between/,
  ],
  [
    'bad-cost.yaml',
    `${base}costs: { vm_exit: -1us }\n${vm()}`,
    /bad-cost\.yaml: costs\.vm_exit: a duration cannot be negative/,
  ],
  ['bad-field.yaml', `${base}${vm(', cpus: 3')}`, /bad-field\.yaml: vms\[0\]: unknown field\(s\) "cpus"/],
  [
    'bad-guest.yaml',
    base + vm(', guest: windows'),
    /bad-guest\.yaml: vms\[0\]\.guest: expected one of "linux-4.19"/,
  ],
];

for (const [name, text, re] of bad) {
  test(`kvmsim run: ${name} is rejected with one line and exit 2`, () => {
    const r = kvmsim('run', file(name, text));
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, re);
  });
}

test('kvmsim run / compare: bad flags exit 2', () => {
  const f = file('ok.yaml', base + vm());
  for (const args of [
    ['run', f, '--seed', 'x'],
    ['compare', f, '--apf', 'off,turbo'],
    ['compare', f, '--apf', 'off,off'],
    ['compare', f, '--seeds', '0'],
  ]) {
    const r = kvmsim(...args);
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /^kvmsim: --(seed|apf|seeds): /);
  }
});

test('kvmsim run: table, JSON and trace files', () => {
  const f = file('ok.yaml', base + vm());
  const t = kvmsim('run', f);
  assert.equal(t.status, 0, t.stderr);
  assert.match(t.stdout, /guest work \(task CPU s\/s\)/);
  const trace = join(dir, 'out.json');
  const ft = join(dir, 'out.txt');
  const j = kvmsim('run', f, '--json', '--seed', '3', '--trace', trace, '--ftrace', ft);
  assert.equal(j.status, 0, j.stderr);
  const m = JSON.parse(j.stdout);
  assert.equal(m.seed, 3);
  assert.equal(m.vms.length, 1);
  assert.ok(Array.isArray(JSON.parse(readFileSync(trace, 'utf8')).traceEvents));
  assert.match(readFileSync(ft, 'utf8'), /^# tracer: nop/);
});

test('kvmsim compare: one table, every mode, ratios against the first', () => {
  const f = file('ok.yaml', base + vm());
  const r = kvmsim('compare', f, '--apf', 'sync,interrupt', '--seeds', '2');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /sync +interrupt/);
  assert.match(r.stdout, /guest work \(task CPU s\/s\) .*\(×1\.00\).*\(×\d+\.\d\d\)/);
});
