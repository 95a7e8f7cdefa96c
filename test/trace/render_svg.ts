// A rendering of a Chrome trace's threads as an SVG timeline, for docs/simulator.md ("Traces"): one row
// per thread (slices as boxes, instants as ticks), then one row per async span name with its spans laid
// out in lanes, as a viewer that groups async events by name draws them. Not a test:
//   node --import tsx test/trace/render_svg.ts trace.json PID > out.svg
import { readFileSync } from 'node:fs';

interface Ev {
  ph: string;
  name: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  id?: string;
  args?: Record<string, unknown>;
}

const [file, pidArg] = process.argv.slice(2);
const doc = JSON.parse(readFileSync(file!, 'utf8')) as { traceEvents: Ev[] };
const pid = Number(pidArg);
const evs = doc.traceEvents.filter((e) => e.pid === pid);
const threadNames = new Map<number, string>();
let title = '';
for (const e of evs)
  if (e.ph === 'M' && e.name === 'thread_name') threadNames.set(e.tid, String(e.args!.name));
  else if (e.ph === 'M' && e.name === 'process_name') title = String(e.args!.name);
const timed = evs.filter((e) => e.ph !== 'M' && e.ph !== 'C');
const t0 = Math.min(...timed.map((e) => e.ts));
const t1 = Math.max(...timed.map((e) => e.ts + (e.dur ?? 0)));
const W = 1100;
const LEFT = 150;
const ROW = 22;
const x = (t: number) => LEFT + ((t - t0) / (t1 - t0)) * (W - LEFT - 10);
const palette = [
  '#4e79a7',
  '#f28e2b',
  '#e15759',
  '#76b7b2',
  '#59a14f',
  '#edc948',
  '#b07aa1',
  '#ff9da7',
  '#9c755f',
];
const colour = (name: string) => {
  let h = 0;
  for (const c of name.replace(/\d+/g, '')) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return palette[h % palette.length]!;
};
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
const out: string[] = [];
let y = 40;
const vcpuTids = [...threadNames].filter(([, n]) => n.startsWith('vCPU')).map(([t]) => t);
for (const tid of vcpuTids) {
  out.push(`<text x="4" y="${y + 15}" font-size="12">${esc(threadNames.get(tid)!)}</text>`);
  for (const e of timed.filter((e) => e.tid === tid && e.ph === 'X')) {
    const w = Math.max(0.5, x(e.ts + e.dur!) - x(e.ts));
    out.push(
      `<rect x="${x(e.ts).toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${ROW - 4}" fill="${colour(e.name)}"><title>${esc(e.name)} ${e.ts}–${(e.ts + e.dur!).toFixed(3)} µs</title></rect>`,
    );
    if (w > 40)
      out.push(
        `<text x="${(x(e.ts) + 2).toFixed(1)}" y="${y + 13}" font-size="10" fill="#fff">${esc(e.name)}</text>`,
      );
  }
  for (const e of timed.filter((e) => e.tid === tid && e.ph === 'i'))
    out.push(
      `<path d="M${x(e.ts).toFixed(1)} ${y + ROW - 4} l-3 5 h6 z" fill="#000"><title>${esc(e.name)} ${e.ts} µs</title></path>`,
    );
  y += ROW + 6;
}
// Async spans: per name, lanes so that overlapping spans do not share one.
const spans = new Map<string, { name: string; id: string; b: number; e: number }[]>();
const open = new Map<string, Ev>();
for (const e of timed.filter((e) => e.ph === 'b' || e.ph === 'e')) {
  const k = `${e.name}|${e.id}`;
  if (e.ph === 'b') open.set(k, e);
  else {
    const b = open.get(k);
    if (!b) continue;
    open.delete(k);
    const l = spans.get(e.name) ?? [];
    l.push({ name: e.name, id: String(b.args?.token ?? e.id), b: b.ts, e: e.ts });
    spans.set(e.name, l);
  }
}
for (const name of [...spans.keys()].sort()) {
  const lanes: number[] = [];
  const laid = spans.get(name)!.map((s) => {
    let lane = lanes.findIndex((end) => end <= s.b);
    if (lane < 0) lane = lanes.push(0) - 1;
    lanes[lane] = s.e;
    return { ...s, lane };
  });
  out.push(`<text x="4" y="${y + 11}" font-size="11">${esc(name)}</text>`);
  for (const s of laid)
    out.push(
      `<rect x="${x(s.b).toFixed(1)}" y="${y + s.lane * 9}" width="${Math.max(0.5, x(s.e) - x(s.b)).toFixed(1)}" height="7" fill="${colour(name)}"><title>${esc(name)} token ${esc(s.id)}</title></rect>`,
    );
  y += Math.max(1, lanes.length) * 9 + 8;
}
const legend = [
  ...new Set(
    timed.filter((e) => e.ph === 'X' && vcpuTids.includes(e.tid)).map((e) => e.name.replace(/\d+/g, 'N')),
  ),
].sort();
let lx = LEFT;
for (const n of legend) {
  out.push(
    `<rect x="${lx}" y="${y + 4}" width="10" height="10" fill="${colour(n)}"/><text x="${lx + 14}" y="${y + 13}" font-size="11">${esc(n)}</text>`,
  );
  lx += 20 + n.length * 6.5;
}
y += 24;
out.push(
  `<text x="4" y="${y + 10}" font-size="11">▲ instant (an EPT violation exit). ${(t1 - t0).toFixed(1)} µs of virtual time from ${t0.toFixed(3)} µs; rendered from the Chrome trace by test/trace/render_svg.ts.</text>`,
);
y += 20;
process.stdout.write(
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${y}" font-family="sans-serif"><title>${esc(title)}: vCPU slices and token spans</title><rect width="100%" height="100%" fill="#fff"/><text x="4" y="20" font-size="13" font-weight="bold">${esc(title)}</text>\n${out.join('\n')}\n</svg>\n`,
);
