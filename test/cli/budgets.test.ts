// issue 12 items 7 and 8, and the budgets of "What to build": --max-time and --max-events on run, compare and
// explore stop with partial results marked partial and exit 3; a simulation whose estimated memory is above
// the limit is refused up front (one line naming the file, the field and the limit, exit 2, no trace file).
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { checkSimResources, DEFAULT_MEMORY_BUDGET, estimateSimBytes } from '../../src/scenario/resources.ts';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runCliCases } from '../test_utils/cli_cases.ts';

const root = join(import.meta.dirname, '../..');
const ex = (p: string) => join(root, 'examples', p);
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-budgets-'));
const web = readFileSync(ex('sim/web-overcommit.yaml'), 'utf8');
const withMemory = (name: string, memory: string, count = 1) => {
  const p = join(dir, name);
  writeFileSync(
    p,
    web
      .replace(/^(\s+)memory: .*$/m, `$1memory: ${memory}`)
      .replace(/^(\s+)count: .*$/m, `$1count: ${count}`)
      .replace(/^(\s+)initial_residency: .*$/m, '$1initial_residency: 0')
      .replace(/^(\s+)ram: .*$/m, '$1ram: 64GiB'),
  );
  return p;
};

test('budgets: partial results marked partial, exit 3; flags checked; huge VMs refused up front', () => {
  const huge = withMemory('huge.yaml', '16TiB', 2);
  const many = withMemory('many.yaml', '1TiB', 4096);
  const [events, time, json, compare, explore, badTime, badEvents, hugeRun, manyRun, hugeCompare] =
    runCliCases([
      { args: ['run', ex('sim/web-overcommit.yaml'), '--max-events', '10000'] },
      { args: ['run', ex('sim/web-overcommit.yaml'), '--max-time', '1ms'] },
      { args: ['run', ex('sim/web-overcommit.yaml'), '--max-events', '10000', '--json'] },
      { args: ['compare', ex('sim/web-overcommit.yaml'), '--max-events', '1000', '--seeds', '2'] },
      { args: ['explore', ex('explore/per-cpu-working-set.yaml'), '--max-time', '1ms', '--json'] },
      { args: ['explore', ex('explore/token-zero.yaml'), '--max-time', 'soon'] },
      { args: ['run', ex('sim/web-overcommit.yaml'), '--max-events', '0'] },
      { args: ['run', huge, '--trace', join(dir, 'huge.json')], dir },
      { args: ['run', many], dir },
      { args: ['compare', huge], dir },
    ]);
  assert.equal(events!.status, 3, events!.stderr);
  assert.match(events!.stdout, /^partial: --max-events 10000 reached after 10000 events, at \d/);
  assert.match(events!.stderr, /budget: --max-events 10000 reached; partial metrics printed\n$/);
  assert.equal(time!.status, 3, time!.stderr);
  assert.match(time!.stdout, /^partial: --max-time 1 ms reached/);
  assert.equal(json!.status, 3);
  assert.equal((JSON.parse(json!.stdout) as { partial: { events: number } }).partial.events, 10000);
  assert.equal(compare!.status, 3);
  assert.equal(compare!.stdout, '');
  assert.match(
    compare!.stderr,
    /^kvmsim: .*: budget: --max-events reached in run 1 of 8 \(apf off, seed 1\)/,
  );
  assert.equal(explore!.status, 3, explore!.stderr);
  assert.equal((JSON.parse(explore!.stdout) as { budget: string }).budget, 'maxTime');
  for (const r of [badTime!, badEvents!]) {
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
  }
  assert.match(badTime!.stderr, /^kvmsim: --max-time: expected a duration like 90s.*got "soon"\n$/);
  assert.match(badEvents!.stderr, /^kvmsim: --max-events: expected an integer 1\.\.\d+, got "0"\n$/);
  for (const r of [hugeRun!, manyRun!, hugeCompare!]) {
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr.trim().split('\n').length, 1);
    assert.match(
      r.stderr,
      /vms\[0\]\.memory: the simulation would need about .* above the limit of 4 GiB; lower it or pass --allow-large/,
    );
  }
  assert.match(hugeRun!.stderr, /huge\.yaml: .*about 8 GiB .*16 TiB of guest memory × 2 VMs/);
  assert.match(manyRun!.stderr, /1 TiB of guest memory × 4096 VMs/);
  assert.deepEqual(hugeRun!.files, ['huge.yaml', 'many.yaml'], 'no trace file');
});

test('the estimate: the 1 TiB example fits, a host RAM above the limit is named as host.ram', () => {
  const big = loadSimScenario(ex('sim/host-1tib.yaml'));
  const e = estimateSimBytes(big);
  assert.ok(e.bytes > 2 ** 28 && e.bytes < DEFAULT_MEMORY_BUDGET, String(e.bytes));
  checkSimResources(big);
  const ram = { ...big, ramPages: (2 ** 41 / 4096) * 64, vms: big.vms.slice(0, 1) };
  assert.throws(() => checkSimResources(ram), /host-1tib\.yaml: host\.ram: .*128 TiB of host RAM/);
});
