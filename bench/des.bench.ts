// `npm run bench des`: the discrete-event engine core (src/sim/engine) against the C reference des.c.
//
// Both run the des.c model (../shared/bench/README.md §1) on both reference configurations, interleaved
// (C, JS, then JS, C in the next round, and so on, so drift on a shared machine hits both sides alike),
// 5 rounds each. The figure is events/s of the simulation loop: des.c times its own loop (initial pushes
// included); for JS, DesReference.run() (the same initial pushes and loop) is timed with performance.now().
// Each round also checks that the JS result equals the C output exactly.

import { cpus } from 'node:os';
import { DesReference, type DesResult } from '../src/sim/engine/des_reference.ts';
import { buildDesC, type CRun, runDesC } from './des/c_baseline.ts';

const ROUNDS = 5;
const LIMIT = 1_000_000;
const SEED = 12345;
const CONFIGS = [
  { name: 'A', vcpus: 64, cap: 4 },
  { name: 'B', vcpus: 4096, cap: 1024 },
] as const;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const mega = (x: number) => `${(x / 1e6).toFixed(2)} M`;

/** A markdown table with padded columns, as Biome's markdown formatter lays it out. */
function table(header: string[], rows: string[][]): string[] {
  const widths = header.map((h, i) => Math.max(3, h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)];
}

function runJs(vcpus: number, cap: number, limit: number): { result: DesResult; evps: number } {
  const sim = new DesReference({ vcpus, cap, limit, seed: SEED });
  const t0 = performance.now();
  const result = sim.run();
  const ms = performance.now() - t0;
  return { result, evps: result.events / (ms / 1000) };
}

function sameAsC(js: DesResult, c: CRun): boolean {
  return (
    js.events === c.events &&
    js.faults === c.faults &&
    js.simTime.toFixed(6) === c.simTime &&
    js.meanWait.toFixed(4) === c.meanWait
  );
}

export default async function desBench(): Promise<string> {
  const build = buildDesC();
  // Warm-up: one untimed JS run per configuration, so the medians measure optimized code.
  for (const cfg of CONFIGS) runJs(cfg.vcpus, cfg.cap, LIMIT / 10);

  const js: Record<string, number[]> = {};
  const c: Record<string, number[]> = {};
  const mismatches: string[] = [];
  for (const cfg of CONFIGS) {
    js[cfg.name] = [];
    c[cfg.name] = [];
  }
  try {
    for (let round = 0; round < ROUNDS; round++) {
      for (const cfg of CONFIGS) {
        const order = build.ok && round % 2 === 1 ? ['js', 'c'] : ['c', 'js'];
        let jsResult: DesResult | undefined;
        let cRun: CRun | undefined;
        for (const side of order) {
          if (side === 'js') {
            const r = runJs(cfg.vcpus, cfg.cap, LIMIT);
            jsResult = r.result;
            js[cfg.name]!.push(r.evps);
          } else if (build.ok) {
            cRun = runDesC(build.binary, cfg.vcpus, cfg.cap, LIMIT, SEED);
            c[cfg.name]!.push(cRun.evps);
          }
        }
        if (cRun && jsResult && !sameAsC(jsResult, cRun)) {
          mismatches.push(
            `round ${round + 1} config ${cfg.name}: JS ${JSON.stringify(jsResult)} vs C ${JSON.stringify(cRun)}`,
          );
        }
      }
    }
  } finally {
    if (build.ok) build.cleanup();
  }

  const lines: string[] = [];
  lines.push('## des: event engine core vs des.c');
  lines.push('');
  lines.push(
    'The des.c model (../shared/bench/README.md §1: N vCPUs, run exp(10 µs), fault p = 0.3, FIFO swap device of ' +
      `capacity C, exp(100 µs)) until ${LIMIT.toLocaleString('en-US')} faults, seed ${SEED}, run by ` +
      "`src/sim/engine/des_reference.ts` on the engine's heap and mulberry32. " +
      `Events/s of the simulation loop, median of ${ROUNDS} interleaved rounds (C: \`gcc -O2\` build of des.c, ` +
      'its own clock; JS: `DesReference.run()` timed with `performance.now()`, after one untimed warm-up run per ' +
      'configuration).',
  );
  lines.push('');
  if (build.ok) {
    const rows = CONFIGS.map((cfg) => {
      const cs = c[cfg.name]!;
      const jss = js[cfg.name]!;
      const mc = median(cs);
      const mj = median(jss);
      const paired = median(jss.map((x, i) => x / cs[i]!));
      return [
        `${cfg.name} (${cfg.vcpus}, ${cfg.cap})`,
        mega(mc),
        mega(mj),
        (mj / mc).toFixed(2),
        paired.toFixed(2),
      ];
    });
    lines.push(
      ...table(['config', 'C (des.c)', 'JS engine', 'JS / C', 'JS / C, median of per-round ratios'], rows),
    );
    lines.push('');
    lines.push(
      'JS / C is the ratio of the medians; the per-round ratio pairs runs made back to back, which cancels slow ' +
        'drift in machine load. Target: at least 0.50 on both configurations.',
    );
  } else {
    lines.push(`C baseline skipped: ${build.reason}.`);
    lines.push('');
    lines.push(
      ...table(
        ['config', 'JS engine'],
        CONFIGS.map((cfg) => [`${cfg.name} (${cfg.vcpus}, ${cfg.cap})`, mega(median(js[cfg.name]!))]),
      ),
    );
  }
  lines.push('');
  lines.push('Per round (M events/s):');
  lines.push('');
  for (const cfg of CONFIGS) {
    const fmt = (xs: number[]) => xs.map((x) => (x / 1e6).toFixed(2)).join(', ');
    lines.push(`- ${cfg.name}: JS ${fmt(js[cfg.name]!)}${build.ok ? `; C ${fmt(c[cfg.name]!)}` : ''}`);
  }
  lines.push('');
  if (build.ok) {
    lines.push(
      mismatches.length === 0
        ? 'Every round, the JS engine printed exactly what des.c printed (events, faults, simTime %.6f, meanWait %.4f).'
        : `**Result mismatch with des.c:** ${mismatches.join('; ')}`,
    );
    lines.push('');
  }
  const cpu = cpus();
  lines.push(
    `Environment: Node ${process.version}${build.ok ? `, ${build.gcc}` : ''}, ${cpu[0]?.model ?? 'unknown CPU'} × ${cpu.length}.`,
  );
  lines.push('');
  lines.push('Command: `npm run bench des`');
  return lines.join('\n');
}
