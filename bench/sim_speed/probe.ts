// One measurement of `npm run bench sim-speed`, run in a fresh process from an esbuild bundle (as the
// CLI ships: dist/ is bundled), in this tree or in the baseline tree (the bench copies this file there, so
// it uses only what the baseline has: loadSimScenario, withMode, Simulator).
//
//   node probe.cjs calibration FAULTS   the calibration scenario, interrupt mode, to FAULTS guest faults
//   node probe.cjs web MS               examples/sim/web-overcommit.yaml for MS ms of virtual time
//
// Prints one JSON line: {"faults": …, "cpuS": …} (CPU time of the run alone, process.cpuUsage()).
import { loadSimScenario, withMode } from '../../src/sim/load_sim.ts';
import { Simulator } from '../../src/sim/simulator.ts';

const [mode, arg] = process.argv.slice(2);
const n = Number(arg);
const sc =
  mode === 'calibration'
    ? withMode(loadSimScenario('examples/sim/calibration.yaml'), 'interrupt')
    : loadSimScenario('examples/sim/web-overcommit.yaml');
sc.warmup = 0;
(sc as { autoWarmup?: boolean }).autoWarmup = false;
if (mode === 'calibration') {
  sc.duration = 1e15;
  sc.maxFaults = n;
} else sc.duration = n * 1e6;
const sim = new Simulator(sc);
const c0 = process.cpuUsage();
sim.run();
const c = process.cpuUsage(c0);
process.stdout.write(`${JSON.stringify({ faults: sim.faults, cpuS: (c.user + c.system) / 1e6 })}\n`);
