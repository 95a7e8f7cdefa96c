// Host RAM accounting and CLOCK reclaim.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { host_page_fault_in, PAGE_HOST_RESIDENT, PAGE_SPTE_MAPPED } from '../../src/mem/page_state.ts';
import { HostMemory } from '../../src/sim/host_memory.ts';

const BOTH = PAGE_HOST_RESIDENT | PAGE_SPTE_MAPPED;

test('host memory: a page-in over the limit evicts an unreferenced page and clears both host bits', () => {
  const a = new Uint8Array(16);
  const b = new Uint8Array(16);
  const h = new HostMemory(20, [a, b], [2, 2]);
  h.setInitialResidency(0, 10);
  h.setInitialResidency(1, 10);
  assert.equal(h.resident, 20);
  for (let g = 2; g < 10; g++) h.touch(0, g); // VM 0's pages are hot, except gfn 10.. (not resident)
  host_page_fault_in(b, 12); // VM 1 faults gfn 12 in
  h.pagedIn(1, 12);
  assert.equal(h.resident, 20);
  // The hand started at VM 0's first unpinned page; every resident one there was referenced, so the
  // first victim is VM 1's first unpinned page (gfn 2).
  assert.equal(b[2], 0);
  assert.equal(h.evictions[1], 1);
  assert.equal(h.evictions[0], 0);
  // Pinned kernel pages are never taken.
  assert.equal(a[0], BOTH);
  assert.equal(b[0], BOTH);
  assert.equal(h.vmResident[0]! + h.vmResident[1]!, 20);
});

test('host memory: the second chance clears referenced bits, so a hot page survives one sweep only', () => {
  const a = new Uint8Array(8);
  const h = new HostMemory(6, [a], [1]);
  h.setInitialResidency(0, 6);
  for (let g = 1; g < 6; g++) h.touch(0, g);
  host_page_fault_in(a, 6);
  h.pagedIn(0, 6); // everything referenced: one full sweep clears the bits, then gfn 1 goes
  assert.equal(a[1], 0);
  assert.equal(h.resident, 6);
  host_page_fault_in(a, 7);
  h.pagedIn(0, 7);
  assert.equal(a[2], 0);
});

test('host memory: explicit eviction (calibration) keeps the counts', () => {
  const a = new Uint8Array(8);
  const h = new HostMemory(100, [a], [1]);
  h.setInitialResidency(0, 8);
  h.evict(0, 3);
  h.evict(0, 3);
  assert.equal(a[3], 0);
  assert.equal(h.resident, 7);
  assert.equal(h.evictions[0], 1);
});
