// The plots of a report, as Vega-Lite specifications with the numbers they show as a table:
//
// - sweep: each metric against the swept parameter, one line per APF mode with its 95% confidence band
//   and every seed's value as a dot; the vCPU time breakdown as stacked bars when the sweep collected
//   the `vcpu_time` shares;
// - compare: guest work per mode (mean, 95% interval, seeds), the vCPU time breakdown, the page-ready
//   latency percentiles;
// - run: the vCPU time breakdown per VM, the page-ready latency percentiles per VM group, guest work per VM.
//
// Plot names are stable: `--plot NAME` picks one (docs/report.md lists them).
import type { TopLevelSpec } from 'vega-lite';
import { UsageError } from '../scenario/usage_error.ts';
import type { CompareInput, GridValue, ReportInput, RunInput, SweepSummary } from './input.ts';

export interface Table {
  head: string[];
  rows: string[][];
}

export interface Plot {
  name: string;
  title: string;
  /** One or two sentences under the title: what is drawn. */
  caption: string;
  spec: TopLevelSpec;
  table: Table;
}

const APF_MODES = ['off', 'sync', 'legacy', 'interrupt'];
const PALETTE = ['#4c78a8', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2', '#eeca3b', '#9d755d'];

/** Labels of the run JSON's metrics (docs/metrics.md); other paths are shown as they are. */
const METRIC_LABELS: Record<string, string> = {
  'work.task_cpu_rate': 'guest work (task CPU s/s)',
  'work.bursts_per_s': 'completed bursts/s',
  'faults.per_s': 'page-ins/s',
  'page_ready.p50_us': 'page-ready latency p50 (µs)',
  'page_ready.p95_us': 'page-ready latency p95 (µs)',
  'page_ready.p99_us': 'page-ready latency p99 (µs)',
  'page_ready.mean_us': 'page-ready latency mean (µs)',
  'page_ready.max_us': 'page-ready latency max (µs)',
  'host.swap.utilization': 'swap utilization',
};

/** The vCPU time categories of the run JSON (docs/metrics.md, "vCPU time"), in stacking order. */
const VCPU_CATEGORIES: Array<[string, string]> = [
  ['task', 'task'],
  ['guest_kernel', 'guest kernel'],
  ['apf_exits', 'APF handling + exits'],
  ['idle', 'idle (HLT)'],
  ['apf_halted', 'artificially halted'],
  ['sync_blocked', 'blocked in sync fault'],
];
const CATEGORY_COLORS = ['#4c78a8', '#9ecae9', '#f58518', '#bab0ac', '#e45756', '#b279a2'];

export function metricLabel(path: string): string {
  const tail = path.replace(/^(total|groups\.\d+|vms\.\d+)\./, '');
  const known = METRIC_LABELS[tail] ?? METRIC_LABELS[path];
  return known === undefined ? path : path.startsWith('total.') ? known : `${known} [${path}]`;
}

/** Numbers in tables: six significant digits, no exponent for ordinary magnitudes, '–' for none. */
export function fmt(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '–';
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e-4 && a < 1e15) return String(Number(x.toPrecision(6)));
  return x.toPrecision(6);
}

const show = (v: GridValue): string => (typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)));

const BASE_CONFIG = {
  font: 'sans-serif',
  view: { stroke: '#ddd' },
  axis: { labelFontSize: 11, titleFontSize: 12 },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 260, symbolOpacity: 1 },
};

/** The y, colour and stacking order of a vCPU-time breakdown: shares in %, stacked, one colour per category. */
function vcpuShareEncoding(categories: string[], colors: string[]) {
  return {
    y: {
      field: 'share',
      type: 'quantitative',
      stack: 'zero',
      title: 'vCPU time %',
      scale: { domain: [0, 100] },
    },
    color: {
      field: 'category',
      type: 'nominal',
      title: 'vCPU time',
      scale: { domain: categories, range: colors },
    },
    order: { field: 'order', type: 'quantitative' },
  };
}

function colorScale(domain: string[]): { domain: string[]; range: string[] } {
  return {
    domain,
    range: domain.map((d, i) => {
      const m = APF_MODES.indexOf(d);
      return PALETTE[m >= 0 ? m : (APF_MODES.length + i) % PALETTE.length]!;
    }),
  };
}

// ---------------------------------------------------------------------------------------------- sweep

/** Which grid entry is the x axis, which the line colour (the APF mode), the rest facets. */
export interface SweepAxes {
  x: SweepSummary['grid'][number];
  color: SweepSummary['grid'][number] | null;
  rest: SweepSummary['grid'];
}

const isApfDim = (g: SweepSummary['grid'][number]): boolean =>
  /(^|\.)apf$/.test(g.path) ||
  (g.values.length > 0 && g.values.every((v) => typeof v === 'string' && APF_MODES.includes(v)));

/**
 * The APF mode dimension (a path ending in `apf`, or values that are all mode names) colours the lines;
 * the x axis is `xPath` when given, else the first other dimension with numbers, else the first other.
 */
export function sweepAxes(summary: SweepSummary, xPath?: string): SweepAxes {
  const grid = summary.grid;
  let x: SweepSummary['grid'][number] | undefined;
  if (xPath !== undefined) {
    x = grid.find((g) => g.path === xPath);
    if (x === undefined)
      throw new UsageError(
        `--x: ${JSON.stringify(xPath)} is not a swept path; expected one of ${grid.map((g) => JSON.stringify(g.path)).join(', ')}`,
      );
  }
  const color = grid.find((g) => g !== x && isApfDim(g)) ?? null;
  const others = grid.filter((g) => g !== color);
  x ??= others.find((g) => g.values.every((v) => typeof v === 'number')) ?? others[0] ?? color!;
  const chosen = x;
  return {
    x: chosen,
    color: color === chosen ? null : color,
    rest: grid.filter((g) => g !== chosen && g !== color),
  };
}

function sweepMetricPlot(
  input: Extract<ReportInput, { kind: 'sweep' }>,
  axes: SweepAxes,
  metric: string,
): Plot {
  const { summary, rows } = input;
  const numericX = axes.x.values.every((v) => typeof v === 'number');
  const facetOf = (p: Record<string, GridValue>): string =>
    axes.rest.map((g) => `${g.path}=${show(p[g.path] ?? null)}`).join(', ');
  const modeOf = (p: Record<string, GridValue>): string =>
    axes.color === null ? 'all' : show(p[axes.color.path] ?? null);
  const xOf = (p: Record<string, GridValue>): GridValue => {
    const v = p[axes.x.path] ?? null;
    return numericX ? v : show(v);
  };
  const values: Record<string, unknown>[] = [];
  const table: Table = {
    head: [
      axes.x.path,
      ...(axes.color ? [axes.color.path] : []),
      ...axes.rest.map((g) => g.path),
      'n',
      'mean',
      '95% CI low',
      '95% CI high',
    ],
    rows: [],
  };
  for (const pt of summary.points) {
    const mean = pt.mean[metric];
    if (mean === undefined) continue;
    const [lo, hi] = pt.ci95[metric] ?? [null, null];
    values.push({
      kind: 'mean',
      x: xOf(pt.point),
      mode: modeOf(pt.point),
      facet: facetOf(pt.point),
      mean,
      lo: lo ?? mean,
      hi: hi ?? mean,
    });
    table.rows.push([
      show(pt.point[axes.x.path] ?? null),
      ...(axes.color ? [show(pt.point[axes.color.path] ?? null)] : []),
      ...axes.rest.map((g) => show(pt.point[g.path] ?? null)),
      String(pt.n),
      fmt(mean),
      fmt(lo),
      fmt(hi),
    ]);
  }
  for (const r of rows) {
    const v = r.metrics[metric];
    if (v === undefined || v === null) continue;
    values.push({ kind: 'seed', x: xOf(r.point), mode: modeOf(r.point), facet: facetOf(r.point), value: v });
  }
  const modes = axes.color === null ? ['all'] : axes.color.values.map(show);
  const label = metricLabel(metric);
  const x = {
    field: 'x',
    type: numericX ? 'quantitative' : 'ordinal',
    title: axes.x.path,
    ...(numericX
      ? {
          scale: { zero: false },
          axis: {
            values: axes.x.values,
            format: axes.x.values.every((v) => Number.isInteger(v)) ? 'd' : '~g',
          },
        }
      : { sort: axes.x.values.map(show) }),
  };
  const color = {
    field: 'mode',
    type: 'nominal',
    title: axes.color?.path ?? '',
    scale: colorScale(modes),
    sort: modes,
    ...(axes.color === null ? { legend: null } : {}),
  };
  const mean = { filter: "datum.kind === 'mean'" };
  const layer = [
    {
      transform: [mean],
      mark: { type: 'errorband', opacity: 0.18 },
      encoding: {
        x,
        y: { field: 'lo', type: 'quantitative', title: label, scale: { zero: false } },
        y2: { field: 'hi' },
        color,
      },
    },
    {
      transform: [{ filter: "datum.kind === 'seed'" }],
      mark: { type: 'point', filled: true, size: 14, opacity: 0.35 },
      encoding: {
        x,
        y: { field: 'value', type: 'quantitative', title: label, scale: { zero: false } },
        color,
      },
    },
    {
      transform: [mean],
      mark: { type: 'line', point: true, strokeWidth: 2 },
      encoding: {
        x,
        y: { field: 'mean', type: 'quantitative', title: label, scale: { zero: false } },
        color,
      },
    },
  ];
  const spec = (
    axes.rest.length === 0
      ? { data: { values }, width: 520, height: 280, layer }
      : {
          data: { values },
          facet: { row: { field: 'facet', type: 'nominal', title: axes.rest.map((g) => g.path).join(', ') } },
          spec: { width: 520, height: 200, layer },
        }
  ) as Record<string, unknown>;
  return {
    name: metric,
    title: label,
    caption:
      `Mean over ${summary.seeds.length} seed(s) per point against ${axes.x.path}` +
      (axes.color ? `, one line per ${axes.color.path}` : '') +
      '; the band is the 95% confidence interval of the mean, the dots are the single seeds.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      ...spec,
      config: BASE_CONFIG,
    } as TopLevelSpec,
    table,
  };
}

/** The stacked vCPU time bars of a sweep that collected `PREFIX.vcpu_time.CATEGORY` metrics. */
function sweepVcpuPlot(input: Extract<ReportInput, { kind: 'sweep' }>, axes: SweepAxes): Plot | null {
  const { summary } = input;
  const found = VCPU_CATEGORIES.map(
    ([key, label]) => [summary.metrics.find((m) => m === `total.vcpu_time.${key}`), label] as const,
  ).filter((c): c is readonly [string, string] => c[0] !== undefined);
  if (found.length < 2) return null;
  const values: Record<string, unknown>[] = [];
  const table: Table = {
    head: [
      axes.x.path,
      ...(axes.color ? [axes.color.path] : []),
      ...axes.rest.map((g) => g.path),
      ...found.map(([, l]) => `${l} %`),
    ],
    rows: [],
  };
  for (const pt of summary.points) {
    const row = [
      show(pt.point[axes.x.path] ?? null),
      ...(axes.color ? [show(pt.point[axes.color.path] ?? null)] : []),
      ...axes.rest.map((g) => show(pt.point[g.path] ?? null)),
    ];
    found.forEach(([metric, label], order) => {
      const m = pt.mean[metric] ?? null;
      row.push(fmt(m === null ? null : m * 100));
      values.push({
        x: show(pt.point[axes.x.path] ?? null),
        mode: axes.color === null ? 'all' : show(pt.point[axes.color.path] ?? null),
        facet: axes.rest.map((g) => `${g.path}=${show(pt.point[g.path] ?? null)}`).join(', '),
        category: label,
        order,
        share: m === null ? 0 : m * 100,
      });
    });
    table.rows.push(row);
  }
  const labels = found.map(([, l]) => l);
  const colors = found.map(
    ([m]) => CATEGORY_COLORS[VCPU_CATEGORIES.findIndex(([k]) => m.endsWith(`.${k}`))]!,
  );
  const modes = axes.color === null ? ['all'] : axes.color.values.map(show);
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    data: { values },
    mark: 'bar',
    width: { step: 22 },
    height: 200,
    encoding: {
      x: { field: 'x', type: 'ordinal', title: axes.x.path, sort: axes.x.values.map(show) },
      ...vcpuShareEncoding(labels, colors),
      ...(axes.color
        ? { column: { field: 'mode', type: 'nominal', title: axes.color.path, sort: modes } }
        : {}),
      ...(axes.rest.length
        ? { row: { field: 'facet', type: 'nominal', title: axes.rest.map((g) => g.path).join(', ') } }
        : {}),
    },
    config: BASE_CONFIG,
  };
  return {
    name: 'vcpu-time',
    title: 'vCPU time breakdown',
    caption: `Where the vCPUs' time went (mean over the seeds, % of vCPU time), per ${axes.x.path}${axes.color ? ` and ${axes.color.path}` : ''}.`,
    spec: spec as TopLevelSpec,
    table,
  };
}

function sweepPlots(input: Extract<ReportInput, { kind: 'sweep' }>, xPath?: string): Plot[] {
  const axes = sweepAxes(input.summary, xPath);
  const plots = input.summary.metrics
    .filter((m) => !/^total\.vcpu_time\./.test(m))
    .map((m) => sweepMetricPlot(input, axes, m));
  const vcpu = sweepVcpuPlot(input, axes);
  return vcpu === null ? plots : [...plots, vcpu];
}

// -------------------------------------------------------------------------------------------- compare

const variantLabel = (v: CompareInput['modes'][number]): string => v.variant ?? v.mode ?? '?';

/** Compare's metric keys (src/sim/compare.ts COMPARE_METRICS) and their labels. */
const COMPARE_LABELS: Record<string, string> = {
  task_cpu_rate: 'guest work (task CPU s/s)',
  bursts_per_s: 'completed bursts/s',
  task: 'vCPU time: task %',
  apf_exits: 'vCPU time: APF handling + exits %',
  idle: 'vCPU time: idle (HLT) %',
  apf_halted: 'vCPU time: artificially halted %',
  sync_blocked: 'vCPU time: blocked in sync fault %',
  page_ins_per_s: 'page-ins/s',
  page_ready_p50: 'page-ready latency p50 µs',
  page_ready_p99: 'page-ready latency p99 µs',
  exits_per_s: 'VM exits/s',
  swap_utilization: 'swap utilization %',
  guest_faults_per_s: 'guest faults (EPT violations)/s',
  sptes_zapped_per_s: 'SPTEs zapped/s',
  fault_retries_per_s: 'fault retries/s',
  ksm_saved_mib: 'KSM saved MiB (end)',
};

function comparePlots(c: CompareInput): Plot[] {
  const labels = c.modes.map(variantLabel);
  const colors = colorScale(labels);
  const plots: Plot[] = [];
  const keys = Object.keys(c.modes[0]!.metrics);
  // Guest work per variant, with every metric of the comparison in the table.
  const work = 'task_cpu_rate';
  if (keys.includes(work)) {
    const values: Record<string, unknown>[] = [];
    c.modes.forEach((m, i) => {
      const s = m.metrics[work];
      if (s === undefined || s.mean === null) return;
      values.push({
        kind: 'mean',
        v: labels[i],
        mean: s.mean,
        lo: s.mean - (s.ci95 ?? 0),
        hi: s.mean + (s.ci95 ?? 0),
      });
      s.values.forEach((x) => {
        if (x !== null) values.push({ kind: 'seed', v: labels[i], value: x });
      });
    });
    const x = { field: 'v', type: 'nominal', title: null, sort: labels, axis: { labelAngle: 0 } } as const;
    const color = { field: 'v', type: 'nominal', scale: colors, legend: null } as const;
    const title = COMPARE_LABELS[work]!;
    plots.push({
      name: 'work',
      title: 'Guest work',
      caption: `${title}: mean over seeds ${c.seeds.join(', ')} with its 95% confidence interval; the dots are the single seeds. The table has every metric of the comparison (mean ± 95% CI, ×ratio against ${labels[0]}).`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values },
        width: { step: 70 },
        height: 260,
        layer: [
          {
            transform: [{ filter: "datum.kind === 'mean'" }],
            mark: { type: 'bar', opacity: 0.8 },
            encoding: { x, y: { field: 'mean', type: 'quantitative', title }, color },
          },
          {
            transform: [{ filter: "datum.kind === 'mean'" }],
            mark: { type: 'rule', strokeWidth: 1.5 },
            encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
          },
          {
            transform: [{ filter: "datum.kind === 'seed'" }],
            mark: { type: 'point', filled: true, color: '#333', size: 16, opacity: 0.6 },
            encoding: { x, y: { field: 'value', type: 'quantitative' } },
          },
        ],
        config: BASE_CONFIG,
      } as TopLevelSpec,
      table: {
        head: ['metric', ...labels],
        rows: keys.map((k) => [
          COMPARE_LABELS[k] ?? k,
          ...c.modes.map((m) => {
            const s = m.metrics[k];
            if (s === undefined || s.mean === null) return '–';
            return `${fmt(s.mean)} ± ${fmt(s.ci95)}${s.ratio === null ? '' : ` (×${s.ratio.toFixed(2)})`}`;
          }),
        ]),
      },
    });
  }
  // The vCPU time breakdown: compare keeps five categories; the guest kernel's share is the rest.
  const cats: Array<[string, string]> = [
    ['task', 'task'],
    ['apf_exits', 'APF handling + exits'],
    ['idle', 'idle (HLT)'],
    ['apf_halted', 'artificially halted'],
    ['sync_blocked', 'blocked in sync fault'],
  ];
  if (cats.every(([k]) => keys.includes(k))) {
    const values: Record<string, unknown>[] = [];
    const rows: string[][] = [];
    c.modes.forEach((m, i) => {
      const shares = cats.map(([k]) => m.metrics[k]?.mean ?? 0);
      const rest = Math.max(0, 100 - shares.reduce((a, b) => a + b, 0));
      const all: Array<[string, number]> = [
        [cats[0]![1], shares[0]!],
        ['guest kernel (the rest)', rest],
        ...cats.slice(1).map(([, l], j): [string, number] => [l, shares[j + 1]!]),
      ];
      all.forEach(([category, share], order) => {
        values.push({ v: labels[i], category, order, share });
      });
      rows.push([labels[i]!, ...all.map(([, s]) => fmt(s))]);
    });
    const catLabels = ['task', 'guest kernel (the rest)', ...cats.slice(1).map(([, l]) => l)];
    plots.push({
      name: 'vcpu-time',
      title: 'vCPU time breakdown',
      caption:
        "Where the vCPUs' time went (mean over the seeds, % of vCPU time); compare keeps five shares, the guest kernel's is what they leave.",
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values },
        mark: 'bar',
        width: { step: 70 },
        height: 260,
        encoding: {
          x: { field: 'v', type: 'nominal', title: null, sort: labels, axis: { labelAngle: 0 } },
          ...vcpuShareEncoding(catLabels, CATEGORY_COLORS),
        },
        config: BASE_CONFIG,
      } as TopLevelSpec,
      table: { head: ['', ...catLabels.map((l) => `${l} %`)], rows },
    });
  }
  // Page-ready latency: p50 and p99 per variant (modes without page-ready notifications have none).
  const q: Array<[string, string]> = [
    ['page_ready_p50', 'p50'],
    ['page_ready_p99', 'p99'],
  ];
  if (q.every(([k]) => keys.includes(k))) {
    const values: Record<string, unknown>[] = [];
    const rows: string[][] = [];
    c.modes.forEach((m, i) => {
      const row = [labels[i]!];
      for (const [k, l] of q) {
        const s = m.metrics[k];
        row.push(s?.mean === null || s === undefined ? '–' : `${fmt(s.mean)} ± ${fmt(s.ci95)}`);
        if (s === undefined || s.mean === null) continue;
        const h = s.ci95 ?? 0;
        values.push({ v: labels[i], q: l, mean: s.mean, lo: Math.max(0, s.mean - h), hi: s.mean + h });
      }
      rows.push(row);
    });
    const x = { field: 'v', type: 'nominal', title: null, sort: labels, axis: { labelAngle: 0 } } as const;
    const color = {
      field: 'q',
      type: 'nominal',
      title: 'percentile',
      scale: { domain: ['p50', 'p99'], range: ['#4c78a8', '#e45756'] },
    } as const;
    plots.push({
      name: 'page-ready',
      title: 'Page-ready latency',
      caption:
        "From a page's arrival to the guest's 'page ready' (µs): p50 and p99 of each run, mean over the seeds with its 95% interval. Modes without page-ready notifications (off, sync) have no point.",
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values },
        width: { step: 70 },
        height: 260,
        encoding: { x, xOffset: { field: 'q', sort: ['p50', 'p99'] }, color },
        layer: [
          {
            mark: { type: 'bar', opacity: 0.8 },
            encoding: { y: { field: 'mean', type: 'quantitative', title: 'page-ready latency (µs)' } },
          },
          {
            mark: { type: 'rule', color: '#333' },
            encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } },
          },
        ],
        config: BASE_CONFIG,
      } as TopLevelSpec,
      table: { head: ['', 'p50 µs (mean ± 95% CI)', 'p99 µs (mean ± 95% CI)'], rows },
    });
  }
  return plots;
}

// ------------------------------------------------------------------------------------------------ run

function runPlots(r: RunInput): Plot[] {
  const parts = [...r.vms.map((v) => ({ label: v.name, p: v })), { label: 'total', p: r.total }];
  const names = parts.map((x) => x.label);
  const cats = VCPU_CATEGORIES.filter(([k]) => parts.some(({ p }) => k in p.vcpu_time));
  const extra = [...new Set(parts.flatMap(({ p }) => Object.keys(p.vcpu_time)))].filter(
    (k) => !cats.some(([c]) => c === k),
  );
  const allCats: Array<[string, string]> = [...cats, ...extra.map((k): [string, string] => [k, k])];
  const vcpuValues: Record<string, unknown>[] = [];
  for (const { label, p } of parts)
    allCats.forEach(([k, l], order) => {
      vcpuValues.push({ v: label, category: l, order, share: (p.vcpu_time[k] ?? 0) * 100 });
    });
  const catLabels = allCats.map(([, l]) => l);
  const catColors = allCats.map(([k], i) => {
    const j = VCPU_CATEGORIES.findIndex(([c]) => c === k);
    return j >= 0 ? CATEGORY_COLORS[j]! : PALETTE[i % PALETTE.length]!;
  });
  const groupLabel = (g: RunInput['groups'][number]): string => `${g.name} (${g.apf})`;
  const latParts = [
    ...r.groups.map((g) => ({ label: groupLabel(g), l: g.page_ready })),
    ...(r.groups.length > 1 ? [{ label: 'total', l: r.total.page_ready }] : []),
  ];
  const quantiles: Array<[keyof RunInput['total']['page_ready'], string]> = [
    ['mean_us', 'mean'],
    ['p50_us', 'p50'],
    ['p95_us', 'p95'],
    ['p99_us', 'p99'],
    ['max_us', 'max'],
  ];
  const latValues = latParts.flatMap(({ label, l }) =>
    l.count > 0 ? quantiles.map(([k, q]) => ({ g: label, q, us: l[k] })) : [],
  );
  const latNames = latParts.map((x) => x.label);
  const seedNote = `seed ${r.seed}, ${r.measured_s} s measured${r.partial ? `; partial: ${r.partial.budget} budget reached` : ''}`;
  return [
    {
      name: 'vcpu-time',
      title: 'vCPU time breakdown',
      caption: `Where each VM's vCPUs spent the measured time (% of vCPU time; ${seedNote}).`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values: vcpuValues },
        mark: 'bar',
        width: { step: 40 },
        height: 260,
        encoding: {
          x: {
            field: 'v',
            type: 'nominal',
            title: null,
            sort: names,
            axis: { labelAngle: names.length > 6 ? -45 : 0 },
          },
          ...vcpuShareEncoding(catLabels, catColors),
        },
        config: BASE_CONFIG,
      } as TopLevelSpec,
      table: {
        head: ['', ...catLabels.map((l) => `${l} %`)],
        rows: parts.map(({ label, p }) => [label, ...allCats.map(([k]) => fmt((p.vcpu_time[k] ?? 0) * 100))]),
      },
    },
    {
      name: 'page-ready',
      title: 'Page-ready latency distribution',
      caption:
        "From a page's arrival to the guest's 'page ready' (µs), per VM group: the run's JSON keeps the mean, the percentiles and the maximum of its latency histogram, drawn here on a log scale.",
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values: latValues },
        width: 420,
        height: 260,
        mark: { type: 'line', point: true },
        encoding: {
          x: {
            field: 'q',
            type: 'ordinal',
            title: 'statistic',
            sort: quantiles.map(([, q]) => q),
            axis: { labelAngle: 0 },
          },
          y: {
            field: 'us',
            type: 'quantitative',
            title: 'page-ready latency (µs)',
            scale: { type: 'symlog' },
          },
          color: {
            field: 'g',
            type: 'nominal',
            title: 'VM group',
            scale: colorScale(latNames),
            sort: latNames,
          },
        },
        config: BASE_CONFIG,
      } as TopLevelSpec,
      table: {
        head: ['VM group', 'count', ...quantiles.map(([, q]) => `${q} µs`)],
        rows: latParts.map(({ label, l }) => [
          label,
          String(l.count),
          ...quantiles.map(([k]) => (l.count > 0 ? fmt(l[k]) : '–')),
        ]),
      },
    },
    {
      name: 'work',
      title: 'Guest work',
      caption: `Task CPU seconds per second of each VM (${seedNote}).`,
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        data: { values: r.vms.map((v) => ({ v: v.name, apf: v.apf, rate: v.work.task_cpu_rate })) },
        mark: 'bar',
        width: { step: 40 },
        height: 220,
        encoding: {
          x: {
            field: 'v',
            type: 'nominal',
            title: null,
            sort: r.vms.map((v) => v.name),
            axis: { labelAngle: r.vms.length > 6 ? -45 : 0 },
          },
          y: { field: 'rate', type: 'quantitative', title: 'guest work (task CPU s/s)' },
          color: {
            field: 'apf',
            type: 'nominal',
            title: 'APF mode',
            scale: colorScale([...new Set(r.vms.map((v) => v.apf))]),
          },
        },
        config: BASE_CONFIG,
      } as TopLevelSpec,
      table: {
        head: ['VM', 'APF mode', 'era', 'vCPUs', 'tasks', 'guest work (task CPU s/s)', 'bursts/s'],
        rows: [
          ...r.vms.map((v) => [
            v.name,
            v.apf,
            v.era,
            String(v.vcpus),
            String(v.tasks),
            fmt(v.work.task_cpu_rate),
            fmt(v.work.bursts_per_s),
          ]),
          [
            'total',
            '',
            '',
            String(r.total.vcpus),
            String(r.total.tasks),
            fmt(r.total.work.task_cpu_rate),
            fmt(r.total.work.bursts_per_s),
          ],
        ],
      },
    },
  ];
}

/** Every plot of a report, in the order the HTML shows them. `xPath`: a sweep's x axis (--x). */
export function plotsFor(input: ReportInput, xPath?: string): Plot[] {
  switch (input.kind) {
    case 'sweep':
      return sweepPlots(input, xPath);
    case 'compare':
      return comparePlots(input.compare);
    case 'run':
      return runPlots(input.run);
  }
}
