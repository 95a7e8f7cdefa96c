// Field paths of sweeps (src/sweep/field_path.ts): parsing, setting (creating mappings, every element with
// [*], refusing what does not fit), and reading metrics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { getPath, parsePath, setPath } from '../../src/sweep/field_path.ts';

test('field paths: parse, set, get', () => {
  assert.deepEqual(parsePath('vms[*].workload.pattern.hot_touches'), [
    { key: 'vms' },
    { all: true },
    { key: 'workload' },
    { key: 'pattern' },
    { key: 'hot_touches' },
  ]);
  for (const bad of [
    '',
    'host..ram',
    '.host',
    'host.',
    'vms[',
    'vms[-1]',
    'vms[a]',
    '[0]',
    'a b',
    'host.ram[*]x',
  ])
    assert.equal(parsePath(bad), null, bad);

  const data = {
    host: { ram: '12GiB' },
    vms: [
      { apf: 'off', workload: {} },
      { apf: 'sync', workload: {} },
    ],
  };
  assert.equal(setPath(data, parsePath('vms[*].apf')!, 'interrupt'), null);
  assert.deepEqual(
    data.vms.map((v) => v.apf),
    ['interrupt', 'interrupt'],
  );
  assert.equal(setPath(data, parsePath('host.ksm.pages_to_scan')!, 100), null);
  assert.deepEqual(data.host, { ram: '12GiB', ksm: { pages_to_scan: 100 } });
  // A value set twice is two copies: changing one point's data cannot change another's.
  const v = { dist: 'constant', value: 1 };
  assert.equal(setPath(data, parsePath('vms[*].workload.burst')!, v), null);
  v.value = 2;
  assert.equal((data.vms[0]!.workload as { burst: { value: number } }).burst.value, 1);
  assert.notEqual(data.vms[0]!.workload, data.vms[1]!.workload);

  assert.equal(setPath(data, parsePath('vms[2].apf')!, 'off'), 'vms[2]: the list has 2 element(s)');
  assert.equal(setPath(data, parsePath('host.ram.x')!, 1), 'host.ram: not a mapping, so it has no field x');
  assert.equal(setPath(data, parsePath('host[0]')!, 1), 'host: not a list, so [0] does not apply');

  const metrics = {
    total: { work: { task_cpu_rate: 1.5 }, page_ready: { p99_us: null } },
    groups: [{ n: 3 }],
  };
  assert.equal(getPath(metrics, parsePath('total.work.task_cpu_rate')!), 1.5);
  assert.equal(getPath(metrics, parsePath('total.page_ready.p99_us')!), null);
  assert.equal(getPath(metrics, parsePath('groups[0].n')!), 3);
  assert.equal(getPath(metrics, parsePath('groups[1].n')!), undefined);
  assert.equal(getPath(metrics, parsePath('total.nope')!), undefined);
  assert.equal(getPath(metrics, parsePath('total.work.task_cpu_rate.x')!), undefined);
});
