// The bug library (docs/bug-library.md): every bug switch has an examples/explore/<bug>.yaml whose
// exploration finds a counterexample for the property the bug violates, and the same configuration
// without the switch satisfies every property it checks. Both hold with and without the reductions, and
// every counterexample replays.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { replay } from '../../src/explore/x86/counterexample.ts';
import { runExplore } from '../../src/explore/x86/run.ts';
import { loadExplore, parseExplore } from '../../src/explore/x86/scenario.ts';
import { BUG_NAMES } from '../../src/host/x86/bugs.ts';

const dir = join(import.meta.dirname, '../../examples/explore');
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.yaml'))
  .sort();

test('every bug switch has an explore example named after it', () => {
  for (const bug of BUG_NAMES) assert.ok(files.includes(`${bug}.yaml`), `examples/explore/${bug}.yaml`);
});

for (const file of files) {
  const bug = file.replace(/\.yaml$/, '');
  if (!(BUG_NAMES as readonly string[]).includes(bug)) continue;
  test(`${bug}: a counterexample with the switch, none without it`, () => {
    const path = join(dir, file);
    const { scenario, config, raw } = loadExplore(path);
    assert.deepEqual(scenario.bugs, [bug], 'the example turns on exactly its own switch');
    assert.equal(scenario.expect?.verdict, 'counterexample');
    const search = { strategy: 'bfs' as const, maxStates: 200_000 };
    for (const reduce of [true, false]) {
      const r = runExplore(config, { ...search, symmetry: reduce, por: reduce });
      assert.equal(r.verdict, 'counterexample', `reductions ${reduce ? 'on' : 'off'}`);
      assert.equal(
        r.counterexample?.property,
        scenario.expect?.property,
        `reductions ${reduce ? 'on' : 'off'}`,
      );
      const rep = replay(config, r.counterexample!);
      assert.equal(rep.diverged, null);
      assert.ok(rep.reproduced, 'the counterexample replays');
    }
    const fixed = parseExplore({ ...(raw as object), bugs: [] }, path).config;
    for (const reduce of [true, false]) {
      const r = runExplore(fixed, { ...search, symmetry: reduce, por: reduce });
      assert.equal(
        r.verdict,
        'ok',
        `without the switch, reductions ${reduce ? 'on' : 'off'}: ${r.counterexample?.property}`,
      );
    }
  });
}

// issue 20: the async-PF protocol keeps holding on the faithful model with the MMU notifiers and host
// memory operations interleaved (docs/mmu.md). Each async-PF bug scenario, without its switch and with an
// `mmu:` block (a migration or a KSM replace of a program page, every part a step; the fault split at its
// host lookup), satisfies every property it checks, the MMU ones included.
for (const file of files) {
  const bug = file.replace(/\.yaml$/, '');
  if (!(BUG_NAMES as readonly string[]).includes(bug)) continue;
  const path = join(dir, file);
  const { raw } = loadExplore(path);
  if ((raw as { mmu?: unknown }).mmu !== undefined) continue; // the MMU switches' own scenarios
  test(`${bug} without its switch, with host memory operations: every property holds`, () => {
    const r0 = raw as { properties?: string[] };
    const props =
      r0.properties === undefined ? undefined : [...r0.properties, 'no-stale-spte', 'notifier-balanced'];
    const cfg = parseExplore(
      {
        ...(raw as object),
        bugs: [],
        mmu: { ops: ['migrate', 'ksm_replace'], budget: 1 },
        ...(props ? { properties: props } : {}),
      },
      path,
    ).config;
    const r = runExplore(cfg, { strategy: 'bfs', maxStates: 200_000, symmetry: true, por: true });
    assert.equal(r.verdict, 'ok', `${r.counterexample?.property}`);
  });
}
