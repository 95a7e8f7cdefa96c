import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bfs } from '../../../src/explore/bfs.ts';
import { gisaModel, stepTable } from '../../../src/explore/s390/model.ts';
import type { S390ConfigInput } from '../../../src/s390/strategy.ts';
import { setupWorld } from '../../../src/s390/vm.ts';

/** One VM, guest ISC 6 registered, two firmware AIs to spend; optional per-vCPU CR6 bytes. */
function world(cfg: S390ConfigInput, vcpu_ids: number[] = [0, 1], cr6?: number[]) {
  const w = setupWorld(cfg, [{ name: 'a', vcpu_ids, gisc: [6], ai_budget: 2 }]);
  cr6?.forEach((m, i) => {
    w.vms[0]!.vcpus[i]!.cr6 = m;
  });
  return w;
}

test('the step table has one id per potential step, and encodings have a fixed length', () => {
  const w = world({});
  const m = gisaModel(w);
  assert.equal(m.stepCount, stepTable(w).length);
  assert.equal(m.stepCount, 2 + (8 + 3) + 2 * 6);
  const a = new Int32Array(m.stateWords);
  m.encode(m.initial(), a);
  const s = m.initial();
  m.apply(
    s,
    stepTable(w).findIndex((x) => x.kind === 'enter_sie'),
  );
  const b = new Int32Array(m.stateWords);
  m.encode(s, b);
  assert.notDeepEqual(a, b);
});

test('current kernel: no structural or progress violation with 2 vCPUs and 2 firmware AIs', () => {
  const r = bfs(gisaModel(world({ strategy: 'current' })), { maxStates: 100_000 });
  assert.equal(r.kind, 'ok');
});

test('5.2 (v7): the stale kicked_mask bit (pre-F2) ends in a kicker livelock', () => {
  const r = bfs(gisaModel(world({ strategy: 'v7' })), { maxStates: 100_000 });
  assert.ok(r.kind === 'violation');
  assert.match(r.property, /^lost AI: kicker livelock/);
  assert.ok(r.trace.labels.includes('resume a/0'));
});

test('F3 off: a vCPU whose CR6 lacks the ISC clobbers deliverable_mask → kicker livelock', () => {
  const r = bfs(gisaModel(world({ strategy: 'current', fixes: { F3: false } }, [0, 1], [0x80, 0x02])), {
    maxStates: 100_000,
  });
  assert.ok(r.kind === 'violation');
  assert.match(r.property, /^lost AI: kicker livelock: ISC 6 pending in a, a\/1/);
  assert.equal(
    bfs(gisaModel(world({ strategy: 'current' }, [0, 1], [0x80, 0x02])), { maxStates: 100_000 }).kind,
    'ok',
  );
});

test('F1 off: vcpu_id 7 at vcpu_idx 0 is never found by the kicker → livelock', () => {
  const r = bfs(gisaModel(world({ strategy: 'current', fixes: { F1: false } }, [7])), { maxStates: 100_000 });
  assert.ok(r.kind === 'violation');
  assert.match(r.property, /^lost AI: kicker livelock/);
});

test('v4 (as reconstructed): IAM restore refused while listed strands an AI', () => {
  const r = bfs(gisaModel(world({ strategy: 'v4' })), { maxStates: 100_000 });
  assert.ok(r.kind === 'violation');
  assert.match(r.property, /^lost AI: stranded interruption/);
});
