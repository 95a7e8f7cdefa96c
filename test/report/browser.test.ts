// The report in a real browser: headless Chromium (Debian's `chromium`; .ci/run installs it) opens the
// HTML of a sweep, a compare and a run, and no console error, no page error, no request is allowed, and
// every chart's SVG must be there, sized and drawing marks; a screenshot of each page is saved. The check
// itself is shown to catch a broken page, a sweep made now by `kvmsim run --json` is reported and opened
// (today's run JSON, not only the stored fixture), and `--format png` writes a PNG. Skipped, with the
// reason, where Chromium is absent. KVMSIM_REPORT_SCREENSHOTS=DIR keeps the screenshots in DIR.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import type { Browser } from 'playwright-core';
import { chromiumPath, launchChromium } from '../../src/report/chromium.ts';
import { runCliCases } from '../test_utils/cli_cases.ts';
import { checkReportPage } from './browser_check.ts';

const skip =
  chromiumPath() === null
    ? 'no Chromium (install the Debian package chromium, or set KVMSIM_CHROMIUM)'
    : false;
const fixtures = join(import.meta.dirname, 'fixtures');
const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-report-browser-'));
const shots = process.env.KVMSIM_REPORT_SCREENSHOTS ?? tmp;
let browser: Browser | null = null;

/** Chromium processes that are children of this process (the test's own browser). */
const ownChromium = (): string[] =>
  execFileSync('ps', ['-o', 'pid=,comm=', '--ppid', String(process.pid)], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => /chrom/i.test(l));

before(async () => {
  if (!skip) browser = await launchChromium('the report browser test');
});
after(async () => {
  await browser?.close();
  if (!skip) assert.deepEqual(ownChromium(), [], 'every Chromium started by the test has ended');
});

test('the reports of a sweep, a compare and a run render in Chromium with no error', { skip }, async () => {
  const inputs: Array<[string, string[]]> = [
    ['sweep', [join(fixtures, 'sweep')]],
    ['compare', [join(fixtures, 'compare.json'), '--scenario', join(fixtures, 'base.yaml')]],
    ['run', [join(fixtures, 'run.json')]],
  ];
  const results = runCliCases(
    inputs.map(([name, args]) => ({ args: ['report', ...args, '--out', join(tmp, `${name}.html`)] })),
  );
  for (const [i, [name]] of inputs.entries()) {
    assert.equal(results[i]!.status, 0, results[i]!.stderr);
    const check = await checkReportPage(
      browser!,
      pathToFileURL(join(tmp, `${name}.html`)).href,
      join(shots, `report-${name}.png`),
    );
    assert.deepEqual(check.problems, [], name);
    assert.equal(check.charts, name === 'sweep' ? 4 : 3, name);
    assert.equal(
      readFileSync(join(shots, `report-${name}.png`))
        .subarray(1, 4)
        .toString(),
      'PNG',
    );
  }
});

test('the check finds a missing chart, an empty chart, a console error and a fetch', { skip }, async () => {
  const r = runCliCases([{ args: ['report', join(fixtures, 'run.json')] }])[0]!;
  assert.equal(r.status, 0, r.stderr);
  const good = r.stdout;
  let bad = good.replace(
    /(<figure class="chart" data-plot="vcpu-time">)<svg[\s\S]*?<\/svg>/,
    '$1<p>rendering failed</p>',
  );
  // The page-ready chart keeps its SVG and axes but loses every mark.
  bad = bad.replace(/<figure class="chart" data-plot="page-ready">[\s\S]*?<\/figure>/, (fig) =>
    fig.replaceAll('class="mark-', 'class="gone-'),
  );
  bad = bad.replace(
    '</body>',
    `<script>console.error('a chart failed')</script><img src="http://127.0.0.1:9/x.png" alt=""></body>`,
  );
  writeFileSync(join(tmp, 'broken.html'), bad);
  const check = await checkReportPage(browser!, pathToFileURL(join(tmp, 'broken.html')).href, null);
  const has = (re: RegExp) =>
    assert.ok(
      check.problems.some((p) => re.test(p)),
      `${re}: ${check.problems.join('; ')}`,
    );
  has(/^vcpu-time: no svg or canvas$/);
  has(/^page-ready: svg draws no mark$/);
  has(/^console error: a chart failed$/);
  has(/^fetched at view time: http:\/\/127\.0\.0\.1:9\/x\.png$/);
});

test('a sweep made now by kvmsim run --json is reported and renders', { skip }, async () => {
  const dir = join(tmp, 'live');
  const make = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(import.meta.dirname, 'make_fixture.ts'), dir, '--small'],
    { encoding: 'utf8' },
  );
  assert.equal(make.status, 0, make.stderr);
  const out = join(tmp, 'live.html');
  const r = runCliCases([{ args: ['report', join(dir, 'sweep'), '--out', out] }])[0]!;
  assert.equal(r.status, 0, r.stderr);
  const check = await checkReportPage(browser!, pathToFileURL(out).href, join(shots, 'report-live.png'));
  assert.deepEqual(check.problems, []);
  assert.equal(check.charts, 4);
});

test('--format png writes one plot as a PNG twice the SVG size', { skip }, () => {
  const png = join(tmp, 'vcpu.png');
  const svg = join(tmp, 'vcpu.svg');
  const [a, b] = runCliCases([
    {
      args: [
        'report',
        join(fixtures, 'compare.json'),
        '--format',
        'png',
        '--plot',
        'vcpu-time',
        '--out',
        png,
      ],
    },
    {
      args: [
        'report',
        join(fixtures, 'compare.json'),
        '--format',
        'svg',
        '--plot',
        'vcpu-time',
        '--out',
        svg,
      ],
    },
  ]);
  assert.equal(a!.status, 0, a!.stderr);
  assert.equal(b!.status, 0, b!.stderr);
  const bytes = readFileSync(png);
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const [w, h] = [bytes.readUInt32BE(16), bytes.readUInt32BE(20)];
  const m = /<svg[^>]*width="([\d.]+)" height="([\d.]+)"/.exec(readFileSync(svg, 'utf8'))!;
  assert.deepEqual([w, h], [Math.ceil(Number(m[1])) * 2, Math.ceil(Number(m[2])) * 2]);
});
