// Makes docs/report.png, the README's picture of a report: the fixture sweep's HTML report
// (test/report/fixtures/sweep) opened in headless Chromium, the top of the page (title, the first plot
// and the start of its table).
//
//   node --import tsx test/report/docs_screenshot.ts
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
  const r = await runCli(['report', join(import.meta.dirname, 'fixtures/sweep'), '--out', html]);
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
