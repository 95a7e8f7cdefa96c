// The four protocol modes drive the model down their own paths, and the metrics add up: vCPU time sums
// to 1, every page-in is accounted for, reclaim keeps the host under its RAM limit.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSimScenario, withMode } from '../../src/sim/load_sim.ts';
import type { Metrics } from '../../src/sim/metrics.ts';
import { runSimulation } from '../../src/sim/run.ts';
import type { ApfMode } from '../../src/sim/schema.ts';

const raw = {
  kind: 'sim',
  seed: 3,
  duration: '60ms',
  warmup: '5ms',
  host: { ram: '160MiB', swap: { channels: 4, latency: { dist: 'exponential', mean: '80us' } } },
  vms: [
    {
      name: 'a',
      count: 2,
      memory: '128MiB',
      vcpus: 2,
      initial_residency: 0.6,
      workload: {
        tasks_per_vcpu: 3,
        burst: { dist: 'exponential', mean: '30us' },
        touches_per_burst: 2,
        slice_actions: 10,
        pattern: { kind: 'hotcold', hot_pages: 0.2, hot_touches: 0.8 },
      },
    },
  ],
};

const run = (mode: ApfMode) => runSimulation(withMode(parseSimScenario(raw, 'modes.yaml'), mode));

function sane(m: Metrics): void {
  const sum = Object.values(m.vcpu_time).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-4, `vCPU time sums to ${sum}`);
  assert.ok(m.work.task_cpu_rate > 0 && m.work.task_cpu_rate <= m.vcpus);
  assert.equal(m.guest.panics, 0);
  assert.ok(m.faults.io_requests > 100, `only ${m.faults.io_requests} page-ins`);
}

test('mode sync: every fault blocks the vCPU thread; no async PF at all', () => {
  const { metrics, sim } = run('sync');
  const t = metrics.total;
  sane(t);
  assert.equal(t.faults.async_attempted, 0);
  assert.ok(t.faults.sync > 0 && t.vcpu_time.sync_blocked > 0.05);
  assert.equal(t.page_ready.count, 0);
  assert.ok(sim.host.resident <= sim.host.limit);
  assert.ok(t.memory.evictions > 0, 'the RAM limit makes reclaim evict');
});

test('mode off: the host halts the vCPU; the guest never sees a #PF or a page-ready', () => {
  const t = run('off').metrics.total;
  sane(t);
  assert.equal(t.faults.not_present_injected, 0);
  assert.ok(t.faults.apf_halts > 0 && t.vcpu_time.apf_halted > 0.05);
  assert.equal(t.events.page_ready_notifications, 0);
  assert.equal(t.events.acks, 0);
  assert.ok(t.page_ready.count > 0, 'the dequeue that ends each halt is measured');
});

test('mode legacy: #PF page-ready, no ACK, no kick', () => {
  const { metrics } = run('legacy');
  const t = metrics.total;
  sane(t);
  assert.equal(metrics.vms[0]!.era, '4.19');
  assert.equal(metrics.vms[0]!.guest_kernel, 'linux-4.19');
  assert.ok(t.faults.not_present_injected > 0);
  assert.ok(t.events.page_ready_notifications > 0);
  assert.equal(t.events.acks, 0);
  assert.ok(t.events.async_pf_sleeps > 0);
});

test('mode interrupt: one ACK per page-ready notification; tasks overlap the page-ins', () => {
  const t = run('interrupt').metrics.total;
  sane(t);
  assert.ok(t.faults.not_present_injected > 0);
  // Equal up to the one or two in flight at the ends of the measured period.
  assert.ok(Math.abs(t.events.acks - t.events.page_ready_notifications) <= 2);
  assert.ok(t.vcpu_time.sync_blocked + t.vcpu_time.apf_halted < 0.01);
  assert.ok((t.page_ready.p50_us ?? 0) > 0);
});

test('async PF beats blocking when each vCPU has several tasks', () => {
  const work = (m: ApfMode) => run(m).metrics.total.work.task_cpu_rate;
  const sync = work('sync');
  assert.ok(work('interrupt') > sync * 1.05);
  assert.ok(work('legacy') > sync * 1.05);
});
