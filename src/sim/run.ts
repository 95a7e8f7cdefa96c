// One simulation run from a loaded scenario: build, run, measure.

import type { SimScenario } from './load_sim.ts';
import { attachMetrics, buildMetrics, type RunMetrics } from './metrics.ts';
import { type SimOptions, Simulator } from './simulator.ts';

export interface SimRun {
  sim: Simulator;
  metrics: RunMetrics;
}

export function runSimulation(scenario: SimScenario, opts: SimOptions = {}): SimRun {
  const sim = new Simulator(scenario, opts);
  attachMetrics(sim);
  sim.run();
  return { sim, metrics: buildMetrics(sim) };
}
