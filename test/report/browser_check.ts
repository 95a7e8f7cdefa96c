// Opens a report page in headless Chromium and lists what is wrong with it: console errors, uncaught page
// errors, failed or outside requests, and every chart (figure.chart) whose SVG or canvas is missing, has
// no size, or draws no mark. Used by test/report/browser.test.ts; it is shown to find the faults it looks
// for on a page made broken on purpose.
import type { Browser } from 'playwright-core';

export interface PageCheck {
  problems: string[];
  charts: number;
}

export async function checkReportPage(
  browser: Browser,
  url: string,
  screenshot: string | null,
): Promise<PageCheck> {
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const problems: string[] = [];
  try {
    page.on('console', (m) => {
      if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('request', (r) => {
      if (r.url() !== url && !r.url().startsWith('data:')) problems.push(`fetched at view time: ${r.url()}`);
    });
    await page.goto(url, { waitUntil: 'load' });
    const charts = await page.$$eval('figure.chart', (figs) =>
      figs.map((f) => {
        const el = f.querySelector('svg, canvas');
        const box = el?.getBoundingClientRect();
        return {
          name: f.getAttribute('data-plot') ?? '?',
          kind: el?.tagName.toLowerCase() ?? null,
          width: box?.width ?? 0,
          height: box?.height ?? 0,
          // Marks with something drawn: a path with geometry, a rect or a symbol with a size.
          marks: el
            ? el.querySelectorAll(
                'g.mark-rect path, g.mark-line path, g.mark-area path, g.mark-symbol path, g.mark-rule line, g.mark-rule path',
              ).length
            : 0,
          text: el?.textContent?.trim().length ?? 0,
        };
      }),
    );
    if (charts.length === 0) problems.push('no chart on the page');
    for (const c of charts) {
      if (c.kind === null) problems.push(`${c.name}: no svg or canvas`);
      else if (c.width < 50 || c.height < 50) problems.push(`${c.name}: ${c.kind} is ${c.width}×${c.height}`);
      else if (c.marks === 0) problems.push(`${c.name}: ${c.kind} draws no mark`);
      else if (c.text === 0) problems.push(`${c.name}: ${c.kind} has no axis text`);
    }
    if (screenshot !== null) await page.screenshot({ path: screenshot, fullPage: true });
    return { problems, charts: charts.length };
  } finally {
    await page.close();
  }
}
