// `npm run bench bitstate`: the bitstate (supertrace) search against the full breadth-first search on the
// same model in the same process: apf_slot 3×5 (2,946,903 states, the bench README's largest exact count).
// Interleaved rounds (the order alternates), medians, CPU time of the process (process.cpuUsage, user +
// system) around the search. Reported: states reached (a bitstate search may lose some to hash
// collisions), memory per state, states per CPU second, and spin's coverage figures.
import { cpus, loadavg } from 'node:os';
import { bfs } from '../src/explore/bfs.ts';
import { type BitstateStats, bitstateDfs } from '../src/explore/bitstate.ts';
import { apfSlotModel } from '../src/explore/models/apf_slot.ts';
import type { SearchResult } from '../src/explore/search_types.ts';
import { median, mega } from './stats.ts';

const ROUNDS = Number(process.env.BITSTATE_BENCH_ROUNDS ?? 3);

interface Row {
  states: number;
  bytes: number;
  cpuS: number;
  omission?: number;
  hashFactor?: number;
}

function measure(kind: 'bfs' | number): Row {
  const model = apfSlotModel({ ntask: 3, ntok: 5 });
  const c0 = process.cpuUsage();
  let b: BitstateStats | undefined;
  let r: SearchResult<Int32Array>;
  if (kind === 'bfs') r = bfs(model, { maxStates: 4_000_000 });
  else {
    const x = bitstateDfs(model, { maxStates: 4e6, bits: kind });
    r = x;
    b = x.bitstate;
  }
  const c = process.cpuUsage(c0);
  const cpuS = (c.user + c.system) / 1e6;
  if (r.kind !== 'ok') throw new Error(`bitstate bench: ${kind} ended ${r.kind}`);
  return {
    states: r.stats.states,
    bytes: r.stats.bytes,
    cpuS,
    ...(b ? { omission: b.omissionProbability, hashFactor: b.hashFactor } : {}),
  };
}

export default async function (): Promise<string> {
  const load0 = loadavg()[0]!;
  const kinds: ('bfs' | number)[] = ['bfs', 26, 29];
  const rows = new Map<'bfs' | number, Row[]>(kinds.map((k) => [k, []]));
  for (const k of kinds) measure(k); // untimed warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? kinds : [...kinds].reverse();
    for (const k of order) rows.get(k)!.push(measure(k));
  }
  const load1 = loadavg()[0]!;
  const bfsRate = median(rows.get('bfs')!.map((x) => x.states / x.cpuS));
  const lines: string[] = [];
  lines.push('## bitstate: the supertrace search against the full BFS (issue 19, "beyond RAM")');
  lines.push('');
  lines.push(
    `apf_slot 3×5 (2,946,903 reachable states), ${ROUNDS} interleaved rounds after one untimed warm-up of each, medians; CPU = \`process.cpuUsage()\` around the search. A bitstate search keeps no state, only 3 bits per state in its array and the DFS stack, so it may skip states whose bits collide: the omission probability is spin's estimate, (bits set / bits)^3.`,
  );
  lines.push('');
  lines.push(
    '| search | states reached | bytes | B/state | states / CPU s | ÷ BFS (rate) | hash factor | omission p |',
  );
  lines.push('|---|---|---|---|---|---|---|---|');
  for (const k of kinds) {
    const xs = rows.get(k)!;
    const rate = median(xs.map((x) => x.states / x.cpuS));
    const x = xs[0]!;
    const name =
      k === 'bfs'
        ? 'BFS (stores every state)'
        : `bitstate 2^${k} bits (${(2 ** k / 8 / 2 ** 20).toFixed(0)} MiB)`;
    lines.push(
      `| ${name} | ${x.states.toLocaleString('en')} | ${x.bytes.toLocaleString('en')} | ${(x.bytes / x.states).toFixed(1)} | ${mega(rate)} | **${(rate / bfsRate).toFixed(2)}** | ${x.hashFactor === undefined ? '–' : x.hashFactor.toFixed(0)} | ${x.omission === undefined ? '–' : x.omission.toExponential(1)} |`,
    );
  }
  lines.push('');
  lines.push(
    `Environment: Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'} × ${cpus().length}; 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end.`,
  );
  lines.push('');
  lines.push('Command: `npm run bench bitstate` (rounds: `BITSTATE_BENCH_ROUNDS`, default 3)');
  return lines.join('\n');
}
