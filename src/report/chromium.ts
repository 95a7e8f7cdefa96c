// Headless Chromium for `kvmsim report --format png` (and the report tests): the system's Chromium
// (Debian's `chromium`, /usr/bin/chromium, or the path in KVMSIM_CHROMIUM) driven by playwright-core,
// which downloads no browser of its own. Every browser started here is closed by the caller's `finally`.
import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
import { UsageError } from '../scenario/usage_error.ts';

/** The Chromium binary to use, or null when there is none. */
export function chromiumPath(): string | null {
  const env = process.env.KVMSIM_CHROMIUM;
  if (env !== undefined && env !== '') return existsSync(env) ? env : null;
  for (const p of ['/usr/bin/chromium', '/usr/bin/chromium-browser']) if (existsSync(p)) return p;
  return null;
}

/** Starts headless Chromium; `why` says what needed it when it is missing (one line, exit 2). */
export async function launchChromium(why: string): Promise<Browser> {
  const path = chromiumPath();
  if (path === null)
    throw new UsageError(
      `${why} needs Chromium, and none was found (install the Debian package chromium, or set KVMSIM_CHROMIUM to its path)`,
    );
  return chromium.launch({
    executablePath: path,
    headless: true,
    // Root in a container has no user namespaces for Chromium's sandbox; the page is our own SVG.
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

/** An SVG document → PNG bytes at `scale` device pixels per CSS pixel. */
export async function svgToPng(svg: string, width: number, height: number, scale = 2): Promise<Buffer> {
  const browser = await launchChromium('--format png');
  try {
    const page = await browser.newPage({
      viewport: { width: Math.ceil(width), height: Math.ceil(height) },
      deviceScaleFactor: scale,
    });
    await page.setContent(
      `<!DOCTYPE html><html><body style="margin:0;background:white">${svg}</body></html>`,
    );
    return await page.locator('svg').first().screenshot({ type: 'png' });
  } finally {
    await browser.close();
  }
}
