// Long fuzz runs (issue 12): `npm run fuzz -- [--count N] [--seed S] [--kind ops|loader|both]`.
// Runs the properties of test/fuzz/properties.ts — random guest op sequences (no exception, same
// transcript twice) and mutated example YAML (loaded, or a one-line UsageError) — N times each with seed
// S, and prints the time, the rate and, for a failure, fast-check's shrunk counterexample and the seed and
// path to replay it. Exit 0 no failure, 1 a failure, 2 bad flags.
import { join } from 'node:path';
import fc from 'fast-check';
import {
  checkMutation,
  checkOpSequence,
  mutationArb,
  readExamples,
  scriptArb,
  withTempDir,
} from '../test/fuzz/properties.ts';

function flag(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : dflt;
}
const count = Number(flag('--count', '10000'));
const seed = Number(flag('--seed', String(Date.now() % 2 ** 31)));
const kind = flag('--kind', 'both');
if (
  !Number.isSafeInteger(count) ||
  count < 1 ||
  !Number.isSafeInteger(seed) ||
  !['ops', 'loader', 'both'].includes(kind)
) {
  process.stderr.write('fuzz: usage: npm run fuzz -- [--count N] [--seed S] [--kind ops|loader|both]\n');
  process.exit(2);
}

let failed = false;
function run<T>(name: string, arb: fc.Arbitrary<T>, check: (v: T) => string, unit: string): void {
  const outcomes: Record<string, number> = {};
  let done = 0;
  const t0 = performance.now();
  const r = fc.check(
    fc.property(arb, (v) => {
      const o = check(v);
      outcomes[o] = (outcomes[o] ?? 0) + 1;
      if (++done % 10000 === 0) {
        const s = (performance.now() - t0) / 1000;
        process.stderr.write(`\r${name}: ${done.toLocaleString('en')} ${unit}, ${Math.round(done / s)}/s   `);
      }
    }),
    { seed, numRuns: count },
  );
  const s = (performance.now() - t0) / 1000;
  process.stderr.write('\r\x1b[K');
  const line = `${name}: ${r.numRuns.toLocaleString('en')} ${unit} in ${s.toFixed(1)} s (${Math.round(r.numRuns / s)}/s), seed ${seed}: ${JSON.stringify(outcomes)}`;
  if (r.failed) {
    failed = true;
    process.stdout.write(
      `${line}\nFAILED after ${r.numRuns} runs (seed ${seed}, path ${r.counterexamplePath}):\n` +
        `counterexample: ${JSON.stringify(r.counterexample, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))}\n` +
        `error: ${r.errorInstance instanceof Error ? (r.errorInstance.stack ?? r.errorInstance.message) : String(r.errorInstance)}\n`,
    );
  } else process.stdout.write(`${line}, no failure\n`);
}

if (kind !== 'loader') run('op sequences', scriptArb, (raw) => checkOpSequence(raw), 'sequences');
if (kind !== 'ops') {
  const texts = readExamples(join(import.meta.dirname, '..'));
  withTempDir((dir) =>
    run('loader mutations', mutationArb(texts.length), (ms) => checkMutation(texts, ms, dir), 'mutations'),
  );
}
process.exit(failed ? 1 : 0);
