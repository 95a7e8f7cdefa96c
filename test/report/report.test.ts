// `kvmsim report` without a browser: telling the inputs apart (and refusing others with one line, exit
// 2), the plots and their tables against the input's numbers, a self-contained page (nothing fetched at
// view time), byte-identical output for the same input, atomic output, --format svg and the png refusal
// without Chromium. The rendering in Chromium is test/report/browser.test.ts.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { reportHtml } from '../../src/report/html.ts';
import { loadReportInput, type SweepSummary } from '../../src/report/input.ts';
import { fmt, plotsFor, sweepAxes } from '../../src/report/plots.ts';
import { renderSvg } from '../../src/report/render.ts';
import { UsageError } from '../../src/scenario/usage_error.ts';
import { runCliCases } from '../test_utils/cli_cases.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const sweepDir = join(fixtures, 'sweep');
const compareFile = join(fixtures, 'compare.json');
const runFile = join(fixtures, 'run.json');
const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-report-'));
const file = (name: string, text: string): string => {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
};

async function page(path: string): Promise<string> {
  const input = loadReportInput(path);
  const plots = plotsFor(input);
  const rendered = [];
  for (const [i, p] of plots.entries()) rendered.push(await renderSvg(p.spec, `p${i + 1}`));
  return reportHtml({ input, inputName: 'x', plots, rendered, version: '0.0.0-test', scenarioFile: null });
}

test('the three inputs are told apart by their shape', () => {
  assert.equal(loadReportInput(sweepDir).kind, 'sweep');
  assert.equal(loadReportInput(`${sweepDir}/`).kind, 'sweep');
  assert.equal(loadReportInput(compareFile).kind, 'compare');
  assert.equal(loadReportInput(runFile).kind, 'run');
});

test('a wrong input is one line naming the file and what is allowed', () => {
  const allowed =
    /expected a `kvmsim sweep` output directory \(with summary\.json\), a `kvmsim compare --json` file or a `kvmsim run --json` file/;
  const emptyDir = join(tmp, 'empty');
  mkdirSync(emptyDir);
  const cases: Array<[string, RegExp]> = [
    [join(fixtures, 'base.yaml'), /base\.yaml: not JSON; /],
    [file('other.json', '{"hello": 1}'), /other\.json: not a kvmsim result; /],
    [file('list.json', '[1, 2]'), /list\.json: not a kvmsim result; /],
    [emptyDir, /empty: a directory without summary\.json/],
    [join(tmp, 'missing.json'), /missing\.json: no such file or directory; /],
    [join(sweepDir, 'summary.json'), /summary\.json: a sweep's summary\.json: give its directory instead; /],
  ];
  for (const [path, re] of cases) {
    assert.throws(
      () => loadReportInput(path),
      (e: unknown) =>
        e instanceof UsageError && re.test(e.message) && allowed.test(e.message) && !e.message.includes('\n'),
      path,
    );
  }
  // A field of the right kind of file with a bad value: the file and the field.
  const bad = JSON.parse(readFileSync(compareFile, 'utf8'));
  bad.modes[1].metrics.task_cpu_rate.mean = 'fast';
  assert.throws(
    () => loadReportInput(file('bad-compare.json', JSON.stringify(bad))),
    /bad-compare\.json: modes\[1\]\.metrics\.task_cpu_rate\.mean: expected number, got "fast"/,
  );
  const badSweep = join(tmp, 'bad-sweep');
  mkdirSync(badSweep);
  const summary = JSON.parse(readFileSync(join(sweepDir, 'summary.json'), 'utf8'));
  summary.grid = [];
  writeFileSync(join(badSweep, 'summary.json'), JSON.stringify(summary));
  assert.throws(() => loadReportInput(badSweep), /bad-sweep\/summary\.json: grid: /);
});

test('sweep axes: the APF mode colours the lines, the first numeric path is x, the rest are facets', () => {
  const s = (grid: SweepSummary['grid']): SweepSummary =>
    ({
      kind: 'sweep',
      version: '',
      scenario: {},
      base: '',
      grid,
      seeds: [1],
      metrics: ['m'],
      points: [],
    }) as SweepSummary;
  const apf = { path: 'vms.0.apf', values: ['off', 'interrupt'] };
  const ram = { path: 'host.ram', values: ['8GiB', '12GiB'] };
  const vcpus = { path: 'vms[0].vcpus', values: [4, 16, 64] };
  let a = sweepAxes(s([apf, ram, vcpus]));
  assert.deepEqual(
    [a.x.path, a.color?.path, a.rest.map((g) => g.path)],
    ['vms[0].vcpus', 'vms.0.apf', ['host.ram']],
  );
  a = sweepAxes(s([ram, apf]));
  assert.deepEqual([a.x.path, a.color?.path, a.rest.length], ['host.ram', 'vms.0.apf', 0]);
  // APF modes recognised by their values under another path name.
  a = sweepAxes(s([vcpus, { path: 'mode', values: ['sync', 'legacy'] }]));
  assert.equal(a.color?.path, 'mode');
  a = sweepAxes(s([apf, ram, vcpus]), 'host.ram');
  assert.deepEqual([a.x.path, a.rest.map((g) => g.path)], ['host.ram', ['vms[0].vcpus']]);
  assert.throws(
    () => sweepAxes(s([apf, ram]), 'vms.0.memory'),
    /--x: "vms\.0\.memory" is not a swept path; expected one of "vms\.0\.apf", "host\.ram"/,
  );
  // Only the mode swept: it is the x axis.
  a = sweepAxes(s([apf]));
  assert.deepEqual([a.x.path, a.color], ['vms.0.apf', null]);
});

test('sweep plots: one per metric with mean, CI and seeds from the input, and the stacked vCPU time', () => {
  const input = loadReportInput(sweepDir);
  assert.equal(input.kind, 'sweep');
  if (input.kind !== 'sweep') return;
  const plots = plotsFor(input);
  assert.deepEqual(
    plots.map((p) => p.name),
    ['total.work.task_cpu_rate', 'total.faults.per_s', 'total.page_ready.p99_us', 'vcpu-time'],
  );
  const work = plots[0]!;
  const { summary, rows } = input;
  assert.equal(work.table.rows.length, summary.points.length);
  summary.points.forEach((pt, i) => {
    const row = work.table.rows[i]!;
    assert.deepEqual(row, [
      String(pt.point['vms.0.workload.tasks_per_vcpu']),
      String(pt.point['vms.0.apf']),
      String(pt.n),
      fmt(pt.mean['total.work.task_cpu_rate']),
      fmt(pt.ci95['total.work.task_cpu_rate']![0]),
      fmt(pt.ci95['total.work.task_cpu_rate']![1]),
    ]);
  });
  const data = (work.spec as { data: { values: Array<Record<string, unknown>> } }).data.values;
  assert.equal(data.filter((d) => d.kind === 'mean').length, summary.points.length);
  assert.equal(data.filter((d) => d.kind === 'seed').length, rows.length);
  // The vCPU shares of a point add up to 100% (the run JSON's six categories).
  const vcpu = plots.at(-1)!;
  for (const row of vcpu.table.rows) {
    const sum = row.slice(2).reduce((a, c) => a + Number(c), 0);
    assert.ok(Math.abs(sum - 100) < 0.01, `${row.join(' ')}: ${sum}`);
  }
});

test('compare and run plots: the vCPU time breakdown, page-ready latency and guest work', () => {
  const c = loadReportInput(compareFile);
  const cp = plotsFor(c);
  assert.deepEqual(
    cp.map((p) => p.name),
    ['work', 'vcpu-time', 'page-ready'],
  );
  // compare's five shares plus the guest kernel's rest make 100%.
  for (const row of cp[1]!.table.rows) {
    const sum = row.slice(1).reduce((a, x) => a + Number(x), 0);
    assert.ok(Math.abs(sum - 100) < 0.01, `${row.join(' ')}: ${sum}`);
  }
  // sync has no page-ready notification: no bar, a dash in the table.
  assert.deepEqual(
    cp[2]!.table.rows.find((r) => r[0] === 'sync'),
    ['sync', '–', '–'],
  );
  const r = loadReportInput(runFile);
  const rp = plotsFor(r);
  assert.deepEqual(
    rp.map((p) => p.name),
    ['vcpu-time', 'page-ready', 'work'],
  );
  const run = JSON.parse(readFileSync(runFile, 'utf8'));
  assert.deepEqual(rp[0]!.table.rows.at(-1)!.slice(0, 2), ['total', fmt(run.total.vcpu_time.task * 100)]);
  assert.deepEqual(rp[1]!.table.rows[0]!.slice(1, 4), [
    String(run.groups[0].page_ready.count),
    fmt(run.groups[0].page_ready.mean_us),
    fmt(run.groups[0].page_ready.p50_us),
  ]);
});

test('the page is self-contained: inline SVG per plot, a table under each, nothing fetched', async () => {
  for (const path of [sweepDir, compareFile, runFile]) {
    const html = await page(path);
    const n = plotsFor(loadReportInput(path)).length;
    assert.equal(html.match(/<figure class="chart"/g)?.length, n, path);
    assert.equal(html.match(/<figure class="chart"[^>]*><svg /g)?.length, n, path);
    assert.equal(html.match(/<table>/g)?.length, n, path);
    assert.doesNotMatch(html, /<script(?![^>]*type="application\/json")/, path);
    assert.doesNotMatch(html, /<link|@import|<img|<iframe|src=|href="(?!#)/, path);
    // The only absolute URLs are XML namespace names, which nothing fetches.
    const urls = [...html.matchAll(/https?:\/\/[^"'\s<)]+/g)].map((m) => m[0]);
    assert.deepEqual(
      [...new Set(urls)].sort(),
      ['http://www.w3.org/1999/xlink', 'http://www.w3.org/2000/svg'],
      path,
    );
    // Ids are unique in the page (each SVG's clip paths are its own).
    const ids = [...html.matchAll(/\bid="([^"]+)"/g)].map((m) => m[1]);
    assert.equal(new Set(ids).size, ids.length, path);
    assert.match(html, /Report made by kvmsim 0\.0\.0-test\./);
  }
  const sweep = await page(sweepDir);
  assert.match(sweep, /run by kvmsim 0\.1\.0, base scenario base\.yaml/);
  assert.match(sweep, /&quot;name&quot;: &quot;report-fixture&quot;/);
  // The embedded input parses back to the summary.
  const json = /<script type="application\/json" id="kvmsim-summary">([\s\S]*?)<\/script>/.exec(sweep)![1]!;
  assert.deepEqual(JSON.parse(json), JSON.parse(readFileSync(join(sweepDir, 'summary.json'), 'utf8')));
});

test('the same input gives byte-identical HTML, in this process and from the command line', async () => {
  const a = await page(sweepDir);
  const b = await page(sweepDir);
  assert.equal(a, b);
  const out1 = join(tmp, 'r1.html');
  const out2 = join(tmp, 'r2.html');
  const [r1, r2] = runCliCases([
    { args: ['report', compareFile, '--out', out1, '--scenario', join(fixtures, 'base.yaml')] },
    { args: ['report', compareFile, '--out', out2, '--scenario', join(fixtures, 'base.yaml')] },
  ]);
  assert.equal(r1!.status, 0, r1!.stderr);
  assert.equal(r2!.status, 0, r2!.stderr);
  const h1 = readFileSync(out1, 'utf8');
  assert.equal(h1, readFileSync(out2, 'utf8'));
  assert.match(h1, /<p>base\.yaml:<\/p>\n<pre># The base scenario/);
});

test('command line: --format svg, wrong flags, output paths and png without Chromium', () => {
  const svgOut = join(tmp, 'work.svg');
  const cases = runCliCases([
    {
      args: ['report', sweepDir, '--format', 'svg', '--plot', 'total.work.task_cpu_rate', '--out', svgOut],
      dir: tmp,
    },
    { args: ['report', sweepDir, '--format', 'svg'] },
    { args: ['report', sweepDir, '--format', 'svg', '--plot', 'nope'] },
    { args: ['report', sweepDir, '--format', 'pdf'] },
    { args: ['report', runFile, '--out', runFile] },
    { args: ['report', runFile, '--out', join(tmp, 'no-such-dir', 'r.html')] },
    { args: ['report', join(fixtures, 'base.yaml'), '--out', join(tmp, 'never.html')], dir: tmp },
    { args: ['report', runFile, '--format', 'png', '--plot', 'work'] },
    {
      args: ['report', runFile, '--format', 'png', '--plot', 'work', '--out', join(tmp, 'w.png')],
      env: { KVMSIM_CHROMIUM: join(tmp, 'no-chromium') },
    },
    { args: ['report', sweepDir, '--x', 'vms.0.apf', '--format', 'svg', '--plot', 'total.faults.per_s'] },
    { args: ['report', runFile, '--x', 'host.ram'] },
  ]);
  const [svg, noPlot, badPlot, badFormat, sameFile, noDir, yaml, pngStdout, noChromium, xApf, xRun] = cases;
  assert.equal(svg!.status, 0, svg!.stderr);
  const text = readFileSync(svgOut, 'utf8');
  assert.match(
    text,
    /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/,
  );
  assert.match(text, /guest work \(task CPU s\/s\)/);
  // Atomic: no temporary file left beside the output.
  assert.deepEqual(
    svg!.files.filter((f) => f.endsWith('.tmp')),
    [],
  );
  const oneLine = (r: (typeof cases)[number], re: RegExp) => {
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, re);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  };
  oneLine(
    noPlot!,
    /--plot: missing; expected one of "total\.work\.task_cpu_rate", "total\.faults\.per_s", "total\.page_ready\.p99_us", "vcpu-time"/,
  );
  oneLine(badPlot!, /--plot: "nope" is not a plot of .*sweep; expected one of/);
  oneLine(badFormat!, /--format: expected one of html, svg, png, got "pdf"/);
  oneLine(sameFile!, /--out: ".*run\.json": is also ".*run\.json", an input/);
  oneLine(noDir!, /--out: ".*r\.html": the directory ".*no-such-dir" does not exist/);
  oneLine(yaml!, /base\.yaml: not JSON; expected a `kvmsim sweep` output directory/);
  assert.ok(!yaml!.files.includes('never.html'));
  oneLine(pngStdout!, /--format png: needs --out FILE/);
  oneLine(noChromium!, /--format png needs Chromium, and none was found/);
  assert.equal(xApf!.status, 0, xApf!.stderr);
  assert.match(xApf!.stdout, /vms\.0\.workload\.tasks_per_vcpu=1/); // the other path became the facet
  oneLine(xRun!, /--x: sweep inputs only/);
});

test("kvmsim sweep's shape: bracketed paths, sizes as strings, a metric with no value (null mean and CI)", async () => {
  // As examples/sweep/overcommit.yaml writes it: host.ram × vms[*].apf, and a metric no seed of a point had.
  const summary = JSON.parse(readFileSync(join(sweepDir, 'summary.json'), 'utf8'));
  const rename = (p: Record<string, unknown>) => ({
    'host.ram': `${8 + 2 * [1, 2, 4, 8].indexOf(p['vms.0.workload.tasks_per_vcpu'] as number)}GiB`,
    'vms[*].apf': p['vms.0.apf'],
  });
  summary.grid = [
    { path: 'host.ram', values: ['8GiB', '10GiB', '12GiB', '14GiB'] },
    { path: 'vms[*].apf', values: ['off', 'sync', 'legacy', 'interrupt'] },
  ];
  for (const pt of summary.points) {
    pt.point = rename(pt.point);
    pt.mean['total.page_ready.p99_us'] = null;
    pt.ci95['total.page_ready.p99_us'] = null;
  }
  const dir = join(tmp, 'overcommit-like');
  mkdirSync(dir);
  writeFileSync(join(dir, 'summary.json'), JSON.stringify(summary));
  const rows = readFileSync(join(sweepDir, 'points.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .map((r) => ({ ...r, point: rename(r.point) }));
  writeFileSync(join(dir, 'points.jsonl'), `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`);
  const input = loadReportInput(dir);
  const plots = plotsFor(input);
  const work = plots[0]!;
  assert.deepEqual(work.table.rows[0]!.slice(0, 3), ['8GiB', 'off', '3']);
  const spec = work.spec as { layer: Array<{ encoding: { x: { type: string; sort: string[] } } }> };
  assert.deepEqual(
    [spec.layer[0]!.encoding.x.type, spec.layer[0]!.encoding.x.sort],
    ['ordinal', ['8GiB', '10GiB', '12GiB', '14GiB']],
  );
  const p99 = plots.find((p) => p.name === 'total.page_ready.p99_us')!;
  assert.deepEqual(p99.table.rows[0]!.slice(3), ['–', '–', '–']);
  const html = await page(dir);
  assert.equal(html.match(/<figure class="chart"[^>]*><svg /g)?.length, plots.length);
});
