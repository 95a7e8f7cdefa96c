// Makes docs/report.png, the README's picture of a report: a sweep's HTML report opened in headless
// Chromium, the top of the page (title, the first plot and the start of its table). The picture in docs/ is
// of the README's own example, the output of `kvmsim sweep examples/sweep/overcommit.yaml`:
//
//   node bin/kvmsim.js sweep examples/sweep/overcommit.yaml --out overcommit
//   node --import tsx test/report/docs_screenshot.ts overcommit
//
// Without an argument it uses the fixture sweep (test/report/fixtures/sweep).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchChromium } from '../../src/report/chromium.ts';
import { runCli } from '../test_utils/cli_inprocess.ts';

const root = join(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-report-docs-'));
try {
  const html = join(tmp, 'report.html');
  const input = process.argv[2] ?? join(import.meta.dirname, 'fixtures/sweep');
  const r = await runCli(['report', input, '--out', html]);
  if (r.status !== 0) throw new Error(r.stderr);
  const browser = await launchChromium('docs/report.png');
  try {
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    await page.goto(pathToFileURL(html).href);
    await page.screenshot({ path: join(root, 'docs/report.png') });
  } finally {
    await browser.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
