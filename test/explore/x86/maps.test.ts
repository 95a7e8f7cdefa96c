// The explorer's guest-mapping actor (src/explore/x86/map_actor.ts; docs/mmu.md "Guest mapping"): the
// faithful model satisfies the default map properties with host memory operations interleaved, each
// property fails on the scenario that breaks it, and the `maps:` block's cross-field checks give one line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { runExplore } from '../../../src/explore/x86/run.ts';
import { loadExplore, parseExplore } from '../../../src/explore/x86/scenario.ts';

const dir = join(import.meta.dirname, '../../../examples/explore');
const search = { strategy: 'bfs' as const, maxStates: 200_000, symmetry: true, por: true };
const base = (o: object) => ({
  kind: 'explore',
  vm: { vcpus: 1 },
  guest: { kind: 'linux', tasks: [{ program: [{ touch: 0x4000 }] }] },
  ...o,
});
const run = (raw: object) => runExplore(parseExplore(raw, 'test.yaml').config, search);

test('map-host-ops.yaml: every default property holds on the faithful 6.13 model with host operations', () => {
  const { config } = loadExplore(join(dir, 'map-host-ops.yaml'));
  assert.ok(config.properties.includes('map-balanced'));
  assert.ok(!config.properties.includes('map-coherent'), 'informational: not checked by default');
  const r = runExplore(config, search);
  assert.equal(r.verdict, 'ok', r.counterexample?.property);
});

// 5.10 as released lacks 2f15d027c05f (the Linux guest's boot-CPU wakeup-all is lost: wakeup-liveness);
// the 5.10 world is a stable 5.10 (≥5.10.119) that carries it.
for (const era of ['5.2', '5.10', '6.1'] as const) {
  test(`the faithful ${era} model: maps, writes and unmaps with migrate/KSM/DONTNEED interleaved hold`, () => {
    const r = run(
      base({
        era,
        vm: { vcpus: 1, lapic_dequeue_gate: era === '5.10' ? true : undefined },
        mmu: { ops: ['migrate', 'ksm_replace', 'dontneed'], budget: 1 },
        maps: {
          callers: [
            { caller: 'virtual_apic', gpa: 0x6000 },
            { caller: 'apic_access', gpa: 0x4000 },
          ],
        },
      }),
    );
    assert.equal(r.verdict, 'ok', r.counterexample?.property);
  });
}

// The memslot move during the guest's MSR_KVM_ASYNC_PF_EN write trips the async-PF model's own
// no-host-warn (the hva cache, docs/findings.md), so this world checks the map properties only.
test('steal time (5.10): kvm_map_gfn with its cache, atomic and not, across a memslot move, holds', () => {
  const r = run(
    base({
      era: '5.10',
      mmu: { ops: ['memslot_remap', 'migrate'], budget: 1 },
      maps: { callers: [{ caller: 'steal_time', gpa: 0x6000, cycles: 2 }] },
      properties: [
        'map-balanced',
        'dirty-logged',
        'no-kunmap-of-remap',
        'no-uaf-mapping',
        'notifier-balanced',
      ],
    }),
  );
  assert.equal(r.verdict, 'ok', r.counterexample?.property);
});

test('map-coherent (informational) fails once DONTNEED drops a mapped page; migration of a pinned page cannot', () => {
  const maps = { callers: [{ caller: 'ghcb', gpa: 0x6000 }] };
  const bad = run(
    base({ era: '6.18', mmu: { ops: ['dontneed'], budget: 1 }, maps, properties: ['map-coherent'] }),
  );
  assert.equal(bad.verdict, 'counterexample');
  assert.equal(bad.counterexample?.property, 'map-coherent');
  const ok = run(
    base({
      era: '6.18',
      mmu: { ops: ['migrate', 'ksm_replace'], budget: 2 },
      maps,
      properties: ['map-coherent'],
    }),
  );
  assert.equal(ok.verdict, 'ok', 'the pin keeps the page where it is');
});

test('map-balanced fails when unmap takes the kunmap branch for a memremap (unmap-poison-page-check)', () => {
  const raw = base({
    era: '5.2',
    bugs: ['unmap-poison-page-check'],
    maps: { backing: [{ gpa: 0x6000, kind: 'devmem' }], callers: [{ caller: 'virtual_apic', gpa: 0x6000 }] },
    properties: ['map-balanced'],
  });
  const r = run(raw);
  assert.equal(r.verdict, 'counterexample');
  assert.equal(r.counterexample?.property, 'map-balanced');
  assert.equal(run({ ...raw, bugs: [] }).verdict, 'ok');
});

test('no-uaf-mapping: 6.13 refuses the non-refcounted VM_PFNMAP page; allow_unsafe_mappings maps it, exempt', () => {
  const maps = (unsafe: boolean) => ({
    allow_unsafe_mappings: unsafe,
    backing: [{ gpa: 0x6000, kind: 'nonrefcounted' }],
    callers: [{ caller: 'pi_desc', gpa: 0x6000 }],
  });
  assert.equal(run(base({ era: '6.13', maps: maps(false) })).verdict, 'ok');
  assert.equal(run(base({ era: '6.13', maps: maps(true) })).verdict, 'ok');
});

test('maps: scenario errors name the field: no API before 5.2, 5.x switches on 6.13, steal time outside 5.6–5.16', () => {
  const err = (raw: object, re: RegExp) => assert.throws(() => parseExplore(raw, 'x.yaml'), re);
  const maps = { callers: [{ caller: 'vmcs12', gpa: 0x6000 }] };
  err(base({ era: '4.19', maps }), /x\.yaml: era: kvm_vcpu_map does not exist in era 4\.19/);
  err(base({ era: '6.13', maps, bugs: ['refcount-nonrefcounted-page'] }), /bugs: .*6\.13 form/);
  err(
    base({ era: '6.1', maps: { callers: [{ caller: 'steal_time', gpa: 0x6000 }] } }),
    /callers\[0\]\.caller/,
  );
  err(base({ era: '5.10', bugs: ['unmap-poison-page-check'] }), /add a `maps:` block/);
  err(base({ era: '5.10', properties: ['map-coherent'] }), /properties: map-coherent needs guest maps/);
  err(base({ era: '5.10', maps: { ...maps, allow_unsafe_mappings: true } }), /maps\.allow_unsafe_mappings/);
});
