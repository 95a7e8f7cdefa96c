// kvmsim compare's variants (issue 21): --era and --what-if columns, every combination with --apf, the
// mode-only JSON shape kept, and the note on what Glisse's change_pte RFC changed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareVariants, variantGrid, type WhatIfNote } from '../../src/sim/compare.ts';
import { parseSimScenario } from '../../src/sim/load_sim.ts';

test('variantGrid: every combination, labelled by the parts that are set', () => {
  const g = variantGrid(['off', 'interrupt'], ['5.15', '6.18'], [[], ['use-change-pte']]);
  assert.equal(g.length, 8);
  assert.deepEqual(
    g.map((v) => v.label),
    [
      'off 5.15 faithful',
      'off 5.15 use-change-pte',
      'off 6.18 faithful',
      'off 6.18 use-change-pte',
      'interrupt 5.15 faithful',
      'interrupt 5.15 use-change-pte',
      'interrupt 6.18 faithful',
      'interrupt 6.18 use-change-pte',
    ],
  );
  assert.deepEqual(
    variantGrid(null, ['3.6'], null).map((v) => [v.mode, v.era, v.bugs, v.label]),
    [[null, '3.6', null, '3.6']],
  );
});

test('compare --what-if none,use-change-pte on a KSM host: the RFC removes the zaps, and the note says so', () => {
  const sc = parseSimScenario(
    {
      kind: 'sim',
      duration: '400ms',
      host: {
        ram: '1GiB',
        swap: { latency: '100us' },
        mmu_notifiers: true,
        ksm: { pages_to_scan: 2000, sleep_millisecs: '20ms' },
      },
      vms: [
        {
          count: 2,
          memory: '32MiB',
          duplicate_pages: 0.5,
          duplicate_kinds: 16,
          workload: { pattern: { kind: 'uniform' }, write_fraction: 0.05 },
        },
      ],
    },
    'ksm-small.yaml',
  );
  const c = compareVariants(sc, variantGrid(null, null, [[], ['use-change-pte']]), 1);
  assert.deepEqual(
    c.modes.map((m) => [m.variant, m.bugs, m.mode]),
    [
      ['faithful', [], undefined],
      ['use-change-pte', ['use-change-pte'], undefined],
    ],
  );
  const [faithful, rfc] = c.modes.map((m) => m.metrics);
  assert.ok(faithful!.sptes_zapped_per_s!.mean > 0, 'merges zap SPTEs without the RFC');
  assert.equal(rfc!.sptes_zapped_per_s!.mean, 0, 'with it, change_pte repoints them instead');
  assert.ok(rfc!.guest_faults_per_s!.mean < faithful!.guest_faults_per_s!.mean);
  assert.equal(c.notes.length, 1);
  const n = c.notes[0] as WhatIfNote;
  assert.equal(n.switch, 'use-change-pte');
  assert.equal(n.variant, 'use-change-pte');
  assert.equal(n.against, 'faithful');
  assert.match(n.text, /SPTEs zapped\/s [\d,]+ → 0/);
});

test('a comparison of modes alone keeps its JSON shape: mode and metrics, order notes', () => {
  const sc = parseSimScenario(
    {
      kind: 'sim',
      duration: '20ms',
      host: { ram: '1GiB', swap: { latency: '100us' } },
      vms: [{ memory: '16MiB', workload: { pattern: { kind: 'uniform' } } }],
    },
    'small.yaml',
  );
  const c = compareVariants(sc, variantGrid(['off', 'interrupt'], null, null), 1);
  for (const m of c.modes) assert.deepEqual(Object.keys(m), ['mode', 'metrics']);
  for (const n of c.notes) assert.ok('expected' in n && 'over' in n);
});
