// The memory-cache properties of the explorer (docs/properties.md; ../shared/spec/mmu.md A.4 INV-4, A.5.4,
// A.5.6, HA1): each fails on a switch that breaks it and holds on the faithful model, including with the
// MMU-notifier host operations and host allocation failures interleaved. The switches' own scenarios are
// in test/explore/bug_library.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runExplore } from '../../src/explore/x86/run.ts';
import { parseExplore } from '../../src/explore/x86/scenario.ts';
import { ScenarioError } from '../../src/scenario/scenario_error.ts';

const search = { strategy: 'bfs' as const, maxStates: 200_000, symmetry: true, por: true };
const CACHE_PROPS = ['topup-sufficient', 'no-empty-cache-alloc', 'no-alloc-under-mmu-lock'];

const bare = (era: string, extra: object) => ({
  kind: 'explore',
  era,
  vm: { vcpus: 2 },
  guest: {
    kind: 'bare',
    vcpus: [[{ op: 'touch', gpa: 0x4000n }], [{ op: 'touch', gpa: 0x5000n }]],
    handlers: {},
  },
  ...extra,
});

test('topup-sufficient: cache-min-too-small takes more than the minimum on the first fault, no allocation failure needed', () => {
  for (const bugs of [['cache-min-too-small'], []]) {
    const cfg = parseExplore(
      bare('6.18', { bugs, mmu: { caches: true }, properties: ['topup-sufficient'] }),
      'inline.yaml',
    ).config;
    const r = runExplore(cfg, search);
    if (bugs.length > 0) {
      assert.equal(r.verdict, 'counterexample');
      assert.equal(r.counterexample?.property, 'topup-sufficient');
    } else assert.equal(r.verdict, 'ok');
  }
});

test('cache-min-too-small from 5.9: the empty cache is a WARN with an atomic allocation (no-empty-cache-alloc, no-host-warn)', () => {
  const mmu = { caches: true, alloc_fail: { after: 41, fails: 1 } };
  const g = {
    kind: 'bare',
    vcpus: [[], [{ op: 'touch', gpa: 0x4000n }]],
    handlers: {},
  };
  for (const property of ['no-empty-cache-alloc', 'no-host-warn']) {
    const cfg = parseExplore(
      {
        kind: 'explore',
        era: '5.9',
        bugs: ['cache-min-too-small'],
        vm: { vcpus: 2 },
        guest: g,
        mmu,
        properties: [property],
      },
      'inline.yaml',
    ).config;
    const r = runExplore(cfg, search);
    assert.equal(r.verdict, 'counterexample', property);
    assert.equal(r.counterexample?.property, property);
  }
});

test('faithful model: the cache properties hold with notifier operations, memslot updates and allocation failures interleaved', () => {
  for (const [era, fails] of [
    ['5.2', 1],
    ['6.18', 1],
    ['6.18', 'all'],
  ] as const) {
    {
      const cfg = parseExplore(
        bare(era, {
          mmu: {
            caches: true,
            ops: ['migrate', 'memslot_remap', 'reclaim'],
            budget: 1,
            alloc_fail: { after: 41, fails },
          },
          properties: [...CACHE_PROPS, 'no-stale-spte', 'no-spte-in-invalidation', 'notifier-balanced'],
        }),
        'inline.yaml',
      ).config;
      const r = runExplore(cfg, search);
      assert.equal(r.verdict, 'ok', `${era} fails=${fails}: ${r.counterexample?.property}`);
    }
  }
});

test('faithful model with the Linux guest: every property holds, the cache ones by default', () => {
  const cfg = parseExplore(
    {
      kind: 'explore',
      era: '6.18',
      vm: { vcpus: 1 },
      guest: { kind: 'linux', tasks: [{ program: [{ touch: 0x4000n }, { touch: 0x5000n }] }] },
      // (memslot_remap during boot makes the guest's EN write fail and a later cached access WARN, with or
      // without caches: docs/bug-library.md; the bare worlds above interleave it.)
      mmu: {
        caches: true,
        ops: ['migrate', 'ksm_replace'],
        budget: 1,
        alloc_fail: { after: 100, fails: 'all' },
      },
    },
    'inline.yaml',
  ).config;
  for (const p of CACHE_PROPS) assert.ok(cfg.properties.includes(p as never), p);
  const r = runExplore(cfg, search);
  assert.equal(r.verdict, 'ok', `${r.counterexample?.property}`);
});

test('the cache properties, switches and alloc_fail need mmu.caches; notifier worlds without it do not check them', () => {
  const base = bare('6.18', { mmu: {} });
  assert.equal(
    parseExplore(base, 'x.yaml').config.properties.some((p) => CACHE_PROPS.includes(p)),
    false,
  );
  for (const extra of [
    { properties: ['topup-sufficient'] },
    { bugs: ['topup-under-mmu-lock'] },
    { mmu: { alloc_fail: { after: 1 } } },
  ])
    assert.throws(() => parseExplore({ ...base, ...extra }, 'x.yaml'), ScenarioError);
});
