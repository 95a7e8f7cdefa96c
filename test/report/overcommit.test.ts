// Issue 15's end-to-end flow on the example users run first: `kvmsim sweep examples/sweep/overcommit.yaml`
// (4 overcommit ratios × 4 APF modes × 5 seeds: 80 runs of 200 ms, about 8 s on two cores) finishes, its
// numbers make sense (guest throughput rises as the overcommit ratio falls, for every mode, and an async
// mode never does worse than `off`; no metric is NaN), `kvmsim report` turns the directory into HTML, and
// headless Chromium opens it with every chart drawn and no error (skipped, with the reason, without
// Chromium). (That --jobs N equals --jobs 1 byte for byte is test/sweep's.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { pathToFileURL } from 'node:url';
import { chromiumPath, launchChromium } from '../../src/report/chromium.ts';
import { checkReportPage } from './browser_check.ts';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/kvmsim.js');
const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-overcommit-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Summary {
  points: { point: Record<string, string>; n: number; mean: Record<string, number | null> }[];
}

const sweep = (out: string, jobs: number) =>
  spawnSync(
    process.execPath,
    [
      bin,
      'sweep',
      join(root, 'examples/sweep/overcommit.yaml'),
      '--out',
      out,
      '--jobs',
      String(jobs),
      '--no-progress',
    ],
    { encoding: 'utf8' },
  );

test('the overcommit sweep finishes, makes sense, and its report renders in Chromium', async (t) => {
  const out = join(tmp, 'overcommit');
  const r = sweep(out, 2);
  assert.equal(r.status, 0, r.stderr);
  const lines = readFileSync(join(out, 'points.jsonl'), 'utf8').trim().split('\n');
  assert.equal(lines.length, 80);
  const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as Summary;
  assert.equal(summary.points.length, 16);
  const rate = new Map<string, number>();
  for (const p of summary.points) {
    assert.equal(p.n, 5);
    for (const [k, v] of Object.entries(p.mean)) assert.ok(v === null || Number.isFinite(v), `${k}: ${v}`);
    rate.set(`${p.point['host.ram']} ${p.point['vms[*].apf']}`, p.mean['total.work.task_cpu_rate']!);
  }
  const rams = ['8GiB', '10GiB', '12GiB', '14GiB'];
  for (const mode of ['off', 'sync', 'legacy', 'interrupt']) {
    for (let i = 1; i < rams.length; i++)
      assert.ok(
        rate.get(`${rams[i]} ${mode}`)! > rate.get(`${rams[i - 1]} ${mode}`)!,
        `${mode}: more host RAM (less overcommit), more guest work (${rams[i - 1]} → ${rams[i]})`,
      );
  }
  for (const ram of rams)
    for (const mode of ['legacy', 'interrupt'])
      assert.ok(rate.get(`${ram} ${mode}`)! >= rate.get(`${ram} off`)!, `${ram}: ${mode} ≥ off`);

  const html = join(tmp, 'overcommit.html');
  const rep = spawnSync(process.execPath, [bin, 'report', out, '--out', html], { encoding: 'utf8' });
  assert.equal(rep.status, 0, rep.stderr);
  if (chromiumPath() === null) {
    t.skip('no Chromium (install the Debian package chromium, or set KVMSIM_CHROMIUM)');
    return;
  }
  const browser = await launchChromium('the overcommit report test');
  try {
    const check = await checkReportPage(browser, pathToFileURL(html).href, join(tmp, 'overcommit.png'));
    assert.deepEqual(check.problems, []);
    assert.ok(check.charts >= 4, `${check.charts} charts`);
  } finally {
    await browser.close();
  }
  // One plot as PNG through the command itself (the built dist/ after `npm run build`: playwright-core
  // must stay a package there, it finds its files through __dirname).
  const png = join(tmp, 'p50.png');
  const one = spawnSync(
    process.execPath,
    [bin, 'report', out, '--format', 'png', '--plot', 'total.page_ready.p50_us', '--out', png],
    { encoding: 'utf8' },
  );
  assert.equal(one.status, 0, one.stderr);
  assert.deepEqual([...readFileSync(png).subarray(0, 4)], [0x89, 0x50, 0x4e, 0x47]);
});
