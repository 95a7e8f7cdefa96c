// The simulator against queueing theory. examples/sim/calibration.yaml is the machine-repairman model
// (finite-source M/M/c//N): N vCPUs with one task each alternate an exponential think time (bursts
// until a faulting one: exp with mean burst/p) and a fault served by one of c channels, exp(service).
// With every protocol cost 0, the vCPU's only states are "thinking" and "waiting for its page", so
// the throughput, channel utilization and mean queue length must match the closed form.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadSimScenario, withMode } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import type { ApfMode } from '../../src/sim/schema.ts';
import { repairman } from './repairman.ts';

const file = join(import.meta.dirname, '../../examples/sim/calibration.yaml');

for (const mode of ['interrupt', 'sync'] as ApfMode[]) {
  test(`calibration (${mode}): the simulator reproduces the machine-repairman closed form`, () => {
    const sc = withMode(loadSimScenario(file), mode);
    sc.duration = 1.5e9;
    const vm = sc.vms[0]!;
    const pat = vm.workload.pattern;
    assert.equal(pat.kind, 'bernoulli');
    const burst = vm.workload.burst;
    assert.equal(burst.dist, 'exponential');
    assert.equal(sc.swapLatency.dist, 'exponential');
    const meanBurst = burst.dist === 'exponential' ? burst.mean : 0;
    const service = sc.swapLatency.dist === 'exponential' ? sc.swapLatency.mean : 0;
    const p = pat.kind === 'bernoulli' ? pat.p : 0;
    const want = repairman(vm.vcpus, sc.swapChannels, p / (meanBurst * 1e-9), 1 / (service * 1e-9));
    const { metrics } = runSimulation(sc);
    const got = {
      throughput: metrics.host.swap.requests / metrics.measured_s,
      utilization: metrics.host.swap.utilization,
      lq: metrics.host.swap.mean_queue,
    };
    const rel = (a: number, b: number) => Math.abs(a - b) / b;
    assert.ok(
      rel(got.throughput, want.throughput) < 0.03,
      `throughput ${got.throughput} vs ${want.throughput}`,
    );
    assert.ok(
      rel(got.utilization, want.utilization) < 0.03,
      `utilization ${got.utilization} vs ${want.utilization}`,
    );
    assert.ok(rel(got.lq, want.lq) < 0.12, `queue ${got.lq} vs ${want.lq}`);
    // A vCPU is either computing or waiting for its page: its busy fraction is the think share.
    const think = got.throughput / vm.vcpus / (p / (meanBurst * 1e-9));
    assert.ok(
      rel(metrics.total.vcpu_time.task, think) < 0.03,
      `task share ${metrics.total.vcpu_time.task} vs ${think}`,
    );
  });
}
