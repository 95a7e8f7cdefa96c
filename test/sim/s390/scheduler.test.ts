import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runSimScenario } from '../../../src/sim/s390/run.ts';
import { parseS390Sim } from '../../../src/sim/s390/scenario.ts';
import { S390Sim } from '../../../src/sim/s390/scheduler.ts';
import { buildSetup } from '../../../src/sim/s390/workload.ts';

/**
 * One VM, one vCPU that runs 10 µs and then waits with no guest timer; one device raising an AI every 100 µs;
 * every latency constant. The first AI (t = 100 µs) finds the vCPU halted, so it alerts: GAL taken at 102 µs
 * (gal_latency 2 µs), xchg at 102 µs, unlink at 102.2 µs (walk_step 200 ns) — the kicker is started with 0 delay
 * and fires at once, kicking the vCPU; the woken thread re-checks 10 µs later (112.2 µs) and takes the AI on
 * SIE entry: latency 12.2 µs. The kicker was forwarded 50 µs, to 152.2 µs, where it finds the IPM clean.
 */
function oneVcpu(duration: string, strategy = 'current') {
  return parseS390Sim(
    {
      arch: 's390',
      kind: 'sim',
      duration,
      strategy,
      host: { gal_latency: '2us', walk_step: '200ns' },
      vms: [
        {
          name: 'a',
          vcpus: 1,
          run: '10us',
          wake_latency: '10us',
          devices: [{ isc: 3, interval: '100us' }],
        },
      ],
    },
    'inline.yaml',
  );
}

test('hrtimer_start(0) fires at the current time: the first AI is taken 12.2 µs after it was made pending', () => {
  const m = runSimScenario(oneVcpu('150us')).results[0]!.metrics;
  assert.equal(m.ais, 1);
  assert.equal(m.gal_interruptions, 1);
  assert.equal(m.xchgs, 3);
  assert.equal(m.kicker_calls, 1);
  assert.equal(m.kicker_restarts, 1);
  assert.equal(m.delivered, 1);
  assert.equal(m.latency_p50_us, 12.2);
  assert.equal(m.wakeups, 1);
  assert.equal(m.wakeups_useful, 1);
});

test('hrtimer_forward_now moves the kicker 50 µs on: its second call is at 152.2 µs and does not restart', () => {
  const before = runSimScenario(oneVcpu('152.1us')).results[0]!.metrics;
  assert.equal(before.kicker_calls, 1);
  const after = runSimScenario(oneVcpu('152.2us')).results[0]!.metrics;
  assert.equal(after.kicker_calls, 2);
  assert.equal(after.kicker_restarts, 1);
  assert.equal(after.restarts_per_alert, 1);
  assert.equal(after.max_restarts_per_run, 1);
  const sim = new S390Sim(buildSetup(oneVcpu('152.2us'), { name: 'current' }, 1));
  sim.run();
  const vm = sim.w.vms[0]!;
  assert.equal(vm.gi.timer_at, -1, 'NORESTART: the kicker is inactive');
  assert.equal(vm.gisa.iam, 0x10, 'and the IAM is re-armed with ISC 3');
});

test('v5 has no kicker: the alert kicks the covering vCPU directly', () => {
  const m = runSimScenario(oneVcpu('150us', 'v5')).results[0]!.metrics;
  assert.equal(m.kicker_calls, 0);
  assert.equal(m.wakeups, 1);
  assert.equal(m.latency_p50_us, 12.2);
});

const busy = () =>
  parseS390Sim(
    {
      arch: 's390',
      kind: 'sim',
      duration: '20ms',
      strategy: 'v7',
      vms: [
        {
          name: 'g',
          count: 4,
          vcpus: 2,
          run: { dist: 'exponential', mean: '50us' },
          idle: { dist: 'exponential', mean: '2ms' },
          wake_latency: { dist: 'uniform', min: '2us', max: '40us' },
          devices: [
            { isc: 3, interval: { dist: 'exponential', mean: '300us' } },
            { isc: 6, interval: { dist: 'exponential', mean: '1ms' }, burst: { count: 3, gap: '4us' } },
          ],
        },
      ],
    },
    'inline.yaml',
  );

test('deterministic per seed: the same seed gives the same metrics, another seed different ones', () => {
  const a = runSimScenario(busy(), { seeds: [7] }).results[0]!.metrics;
  const b = runSimScenario(busy(), { seeds: [7] }).results[0]!.metrics;
  const c = runSimScenario(busy(), { seeds: [8] }).results[0]!.metrics;
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  assert.ok(a.ais > 100 && a.delivered > 50, JSON.stringify(a));
});

test('named streams: adding a VM leaves the draws of the existing VMs unchanged', () => {
  const s = busy();
  const one = buildSetup(s, { name: 'v7' }, 3);
  const more = buildSetup({ ...s, vms: [...s.vms, { ...s.vms[0]!, name: 'h' }] }, { name: 'v7' }, 3);
  for (let i = 0; i < one.vms.length; i++) {
    assert.equal(one.vms[i]!.name, more.vms[i]!.name);
    assert.equal(one.vms[i]!.devices[0]!.rng.next(), more.vms[i]!.devices[0]!.rng.next());
    assert.equal(one.vms[i]!.vcpus[1]!.wake.next(), more.vms[i]!.vcpus[1]!.wake.next());
  }
});
