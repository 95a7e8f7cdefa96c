// The machine-repairman model's closed form (finite-source M/M/c//N), which the calibration scenario
// (test/sim/calibration.test.ts) and the no-protocol queue of `npm run bench sim-speed`
// (test/bench/sim_speed_queue.test.ts) must both reproduce.

/** Steady state of M/M/c//N: throughput (1/s), utilization per channel, mean number waiting. */
export function repairman(n: number, c: number, lambda: number, mu: number) {
  const r = lambda / mu;
  const w: number[] = [];
  let binom = 1; // C(n, k)
  let fact = 1; // k!
  for (let k = 0; k <= n; k++) {
    if (k > 0) {
      binom = (binom * (n - k + 1)) / k;
      fact *= k;
    }
    let cFact = 1;
    for (let i = 2; i <= c; i++) cFact *= i;
    w.push(k <= c ? binom * r ** k : ((binom * fact) / (cFact * c ** (k - c))) * r ** k);
  }
  const z = w.reduce((a, b) => a + b, 0);
  const p = w.map((x) => x / z);
  const busy = p.reduce((a, pk, k) => a + pk * Math.min(k, c), 0);
  const lq = p.reduce((a, pk, k) => a + pk * Math.max(0, k - c), 0);
  return { throughput: busy * mu, utilization: busy / c, lq };
}
