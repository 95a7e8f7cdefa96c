// Scripts with vm.maps (the guest mapping API; docs/mmu.md "Guest mapping"): the shipped examples in
// examples/mmu/map-*.yaml give the records their comments promise, and the cross-field checks give one line.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { loadScript, parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { MapsRecord, OpRecord, TranscriptRecord } from '../../src/script/transcript.ts';

const example = (name: string) => join(import.meta.dirname, '../../examples/mmu', name);
const ops = (t: readonly TranscriptRecord[]): OpRecord[] => t.filter((r): r is OpRecord => 'op' in r);
const end = (t: readonly TranscriptRecord[]): MapsRecord => {
  const r = t.find((x): x is MapsRecord => 'maps' in x);
  assert.ok(r, 'no maps record');
  return r;
};
const run = (name: string) => runScript(loadScript(example(name))).records;
const withRaw = (name: string, patch: Record<string, unknown>) => {
  const file = example(name);
  const raw = readScenarioFile(file, { bigint: true }) as Record<string, unknown>;
  return () => parseScript({ ...raw, ...patch }, file);
};

test('map-migrate-nested: a referenced page does not migrate (moved=0, coherent); unmapped, it does', () => {
  const r = ops(run('map-migrate-nested.yaml'));
  assert.equal(r[0]!.ret, 'ok');
  assert.deepEqual(
    r.filter((o) => o.kind === 'host_migrate').map((o) => o.moved),
    [0, 1],
  );
  assert.equal(r[3]!.value, '0x10');
  assert.equal(r[3]!.coherent, true);
  assert.equal(r[4]!.dirty_logged, true);
});

test('map-migrate-nested on 6.13: the FOLL_PIN pin stops migration the same way', () => {
  const s = withRaw('map-migrate-nested.yaml', { era: '6.13' })();
  const r = ops(runScript(s).records);
  assert.match(r[0]!.map!, /pinned_page=frame1/);
  assert.equal(r.find((o) => o.kind === 'host_migrate')!.moved, 0);
});

test('map-dontneed-incoherent: the map keeps the orphaned page; a new map sees the fresh one', () => {
  const r = ops(run('map-dontneed-incoherent.yaml'));
  assert.equal(r[2]!.coherent, false);
  assert.equal(r[3]!.value, '0x2a');
  assert.equal(r[4]!.coherent, true);
  assert.equal(r[5]!.value, '0x0');
});

test('/dev/mem-backed map: 5.x memremap with KVM_UNMAPPED_PAGE; 6.13 -EINVAL; 6.13 with allow_unsafe_mappings memremap, page NULL', () => {
  const old = ops(run('map-devmem-5.x.yaml'));
  assert.equal(old[0]!.ret, 'ok');
  assert.match(old[0]!.map!, /^memremap .*page=KVM_UNMAPPED_PAGE$/);
  const now = ops(run('map-devmem-6.13.yaml'));
  assert.equal(now[0]!.ret, '-EINVAL');
  assert.equal(now[1]!.result, 'rejected');
  const unsafe = ops(run('map-devmem-6.13-unsafe.yaml'));
  assert.equal(unsafe[0]!.ret, 'ok');
  assert.match(unsafe[0]!.map!, /^memremap .*page=NULL pinned_page=NULL/);
});

test('map-readonly-slot: writable map -EINVAL, read-only map ok and nothing in the dirty log', () => {
  const t = run('map-readonly-slot.yaml');
  const r = ops(t);
  assert.equal(r[0]!.ret, '-EINVAL');
  assert.equal(r[1]!.ret, 'ok');
  assert.equal(r[3]!.dirty_logged, false);
  assert.equal(end(t).dirty_log, 'none');
});

test('map-steal-time-5.10: atomic miss -EAGAIN, refill, atomic hit; the cache keeps one reference', () => {
  const t = run('map-steal-time-5.10.yaml');
  assert.deepEqual(
    ops(t)
      .filter((o) => o.kind === 'vcpu_map')
      .map((o) => o.ret),
    ['-EAGAIN', 'ok', 'ok'],
  );
  assert.equal(end(t).refs, 1);
});

test('scenario errors: no API before 5.2; writable before 6.13; dirty from 6.13; steal_time outside 5.6–5.16; ops without vm.maps', () => {
  assert.throws(
    withRaw('map-devmem-5.x.yaml', { era: '4.19' }),
    /era: kvm_vcpu_map does not exist in era 4\.19/,
  );
  assert.throws(
    withRaw('map-migrate-nested.yaml', {
      ops: [{ op: 'vcpu_map', caller: 'ghcb', gpa: 0x1000n, writable: true }],
    }),
    /ops\[0\]\.writable/,
  );
  assert.throws(
    withRaw('map-readonly-slot.yaml', { ops: [{ op: 'vcpu_unmap', caller: 'ghcb', dirty: true }] }),
    /ops\[0\]\.dirty: from 6\.13/,
  );
  assert.throws(withRaw('map-steal-time-5.10.yaml', { era: '6.1' }), /ops\[0\]\.caller: steal_time/);
  assert.throws(withRaw('map-devmem-5.x.yaml', { vm: {} }), /ops\[0\]\.op: vcpu_map needs vm\.maps/);
  assert.throws(
    withRaw('map-devmem-5.x.yaml', { era: '6.13', bugs: ['unmap-poison-page-check'] }),
    /bugs: unmap-poison-page-check re-creates a 5\.x kernel/,
  );
});

test('unmap-poison-page-check in a script: kunmap_of_remap=1 in the end record (5.2)', () => {
  const s = withRaw('map-devmem-5.x.yaml', { era: '5.2', bugs: ['unmap-poison-page-check'] })();
  assert.equal(end(runScript(s).records).kunmap_of_remap, 1);
  assert.equal(end(runScript(withRaw('map-devmem-5.x.yaml', { era: '5.2' })()).records).kunmap_of_remap, 0);
});

// mmu §E case 48
test('mmu §E case 48 (script): in SMM, 5.15 maps an SMRAM-only page through the vCPU memslots; 6.1 does not', () => {
  const maps = (era: string) =>
    ops(runScript(withRaw('map-smm-memslots.yaml', { era })()).records)
      .filter((o) => o.kind === 'vcpu_map')
      .map((o) => o.ret);
  assert.deepEqual(maps('6.1'), ['-EINVAL', '-EINVAL']);
  assert.deepEqual(maps('5.15'), ['ok', '-EINVAL']);
});
