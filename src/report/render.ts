// A plot's Vega-Lite specification → SVG text, rendered here in Node by Vega's own SVG renderer
// (View.toSVG), with no browser and no canvas: text widths are Vega's estimate from the font size, so the
// same specification gives the same SVG on every machine. Element ids (clip paths) are renamed with the
// plot's own prefix so that several SVGs can live in one HTML page.
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export interface RenderedPlot {
  svg: string;
  width: number;
  height: number;
}

/** Renders `spec`; `idPrefix` (letters, digits, '-') makes the SVG's ids unique in a page. */
/**
 * Text is measured by Vega's estimate even where a canvas package happens to be installed: a canvas
 * measures with the machine's fonts, which would make the SVG depend on the machine.
 */
(vega as unknown as { textMetrics: { canvas(use: boolean): void } }).textMetrics.canvas(false);

export async function renderSvg(spec: TopLevelSpec, idPrefix: string): Promise<RenderedPlot> {
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // Vega numbers ids from a counter of the process; number them per plot instead.
    const ids = new Map<string, string>();
    for (const m of svg.matchAll(/\bid="([^"]+)"/g))
      if (!ids.has(m[1]!)) ids.set(m[1]!, `${idPrefix}-${ids.size + 1}`);
    const renamed = svg
      .replace(/\bid="([^"]+)"/g, (_, id: string) => `id="${ids.get(id)}"`)
      .replace(/url\(#([^)]+)\)/g, (all, id: string) => (ids.has(id) ? `url(#${ids.get(id)})` : all));
    const w = /^<svg[^>]*\bwidth="([\d.]+)"/.exec(renamed);
    const h = /^<svg[^>]*\bheight="([\d.]+)"/.exec(renamed);
    return { svg: renamed, width: Number(w?.[1] ?? 0), height: Number(h?.[1] ?? 0) };
  } finally {
    view.finalize();
  }
}
