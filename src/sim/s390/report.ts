// Markdown for a sim report: one table of metrics (rows) by variant (columns), each cell listing the value of
// every seed, then the expected directions with the figures behind them. The same text goes to the terminal
// and into docs/s390.md, so a reader can paste a command's output next to the claim it measures.
import { METRIC_NAMES, type MetricName } from './metrics.ts';
import { OP_SYMBOL, type SimReport } from './run.ts';

const fmt = (x: number): string => (Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(4))));

/** Per-seed values joined by " / " (up to 5 seeds), else "median (min–max)". */
function cell(values: number[]): string {
  if (values.length <= 5) return values.map(fmt).join(' / ');
  const sorted = [...values].sort((a, b) => a - b);
  return `${fmt(sorted[Math.floor(sorted.length / 2)]!)} (${fmt(sorted[0]!)}–${fmt(sorted[sorted.length - 1]!)})`;
}

export interface ReportFormat {
  /** Metric rows to show (default: all). */
  metrics?: readonly MetricName[];
}

export function formatSimReport(r: SimReport, f: ReportFormat = {}): string {
  const metrics = f.metrics ?? METRIC_NAMES;
  const lines: string[] = [];
  if (r.name) lines.push(`### ${r.name}`, '');
  lines.push(`seeds ${r.seeds.join(', ')} (each cell: one value per seed, in this order)`, '');
  lines.push(`| metric | ${r.variants.join(' | ')} |`, `|---|${r.variants.map(() => '---').join('|')}|`);
  for (const m of metrics) {
    const row = r.variants.map((v) =>
      cell(r.results.filter((x) => x.variant === v).map((x) => x.metrics[m])),
    );
    lines.push(`| ${m} | ${row.join(' | ')} |`);
  }
  if (r.expectations.length) {
    lines.push('', 'expected directions:', '');
    const groups = new Map<string, typeof r.expectations>();
    for (const e of r.expectations) {
      const key = `${e.metric} ${e.left.variant} ${e.op} ${e.right.variant ?? e.right.value}`;
      groups.set(key, [...(groups.get(key) ?? []), e]);
    }
    for (const group of groups.values()) {
      const e = group[0]!;
      const held = group.filter((g) => g.holds).length;
      const right = e.right.variant ?? fmt(e.right.value);
      const figures = group
        .map((g) => `${fmt(g.left.value)}${g.right.variant !== undefined ? ` vs ${fmt(g.right.value)}` : ''}`)
        .join(', ');
      lines.push(
        `- ${held === group.length ? 'holds' : 'FAILS'} ${held}/${group.length} seeds: ${e.metric} ` +
          `${e.left.variant} ${OP_SYMBOL[e.op]} ${right} (${figures})${e.note ? ` — ${e.note}` : ''}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}
