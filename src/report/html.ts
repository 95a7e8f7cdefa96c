// The report page: one self-contained HTML file (no script, no style sheet or font fetched at view time):
// every plot as inline SVG rendered in Node (render.ts), the numbers it shows as a table under it, the
// scenario(s) and the kvmsim versions, and the input itself as JSON for whoever wants to reuse it. Nothing
// in it depends on the time or the machine: the same input gives the same bytes.
import type { ReportInput } from './input.ts';
import type { Plot } from './plots.ts';
import type { RenderedPlot } from './render.ts';

const esc = (s: string): string =>
  s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** JSON inside a <script> element: '<' escaped so that no `</script>` can end it early. */
const scriptJson = (x: unknown): string =>
  JSON.stringify(x, null, 1)
    .replaceAll('<', '\\u003c')
    .replaceAll('\u2028', '\\u2028')
    .replaceAll('\u2029', '\\u2029');

const STYLE = `
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0.2em; }
h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ddd; }
.meta { color: #555; margin-top: 0; }
nav ul { padding-left: 1.2em; }
figure { margin: 0.5em 0; overflow-x: auto; }
figure svg { max-width: none; }
.caption { color: #444; font-size: 0.92em; max-width: 60em; }
table { border-collapse: collapse; font-size: 0.85em; margin: 0.5em 0 1em; }
th, td { border: 1px solid #ddd; padding: 0.2em 0.5em; }
th { background: #f4f4f4; text-align: left; }
td.n { text-align: right; font-variant-numeric: tabular-nums; }
details summary { cursor: pointer; color: #333; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
`;

function table(t: Plot['table']): string {
  const numeric = (s: string): boolean => /^[-–+0-9.,×() ±e]+$/.test(s);
  const head = `<tr>${t.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
  const rows = t.rows
    .map((r) => `<tr>${r.map((c) => `<td${numeric(c) ? ' class="n"' : ''}>${esc(c)}</td>`).join('')}</tr>`)
    .join('\n');
  return `<table>\n${head}\n${rows}\n</table>`;
}

function describe(input: ReportInput): string {
  switch (input.kind) {
    case 'sweep': {
      const s = input.summary;
      const grid = s.grid.map((g) => `${g.path} (${g.values.length})`).join(' × ');
      return `A sweep: ${grid} = ${s.points.length} point(s) × ${s.seeds.length} seed(s) (${s.seeds.join(', ')}); run by kvmsim ${s.version}, base scenario ${s.base}.`;
    }
    case 'compare': {
      const c = input.compare;
      return `A comparison of ${c.modes.length} variant(s) × ${c.seeds.length} seed(s) (${c.seeds.join(', ')}) of scenario ${c.scenario}.`;
    }
    case 'run': {
      const r = input.run;
      return `A run of scenario ${r.scenario}, seed ${r.seed}: ${r.simulated_s} s simulated, ${r.measured_s} s measured, ${r.vms.length} VM(s).`;
    }
  }
}

export interface ReportPage {
  input: ReportInput;
  /** The input as given on the command line (its base name is shown). */
  inputName: string;
  plots: readonly Plot[];
  rendered: readonly RenderedPlot[];
  /** The version of kvmsim making the report. */
  version: string;
  /** --scenario: the scenario file's name and text (run and compare inputs carry only its name). */
  scenarioFile: { name: string; text: string } | null;
}

export function reportHtml(p: ReportPage): string {
  const { input } = p;
  const title = `kvmsim report: ${input.name}`;
  const sections = p.plots.map((plot, i) =>
    [
      `<section id="plot-${esc(plot.name)}">`,
      `<h2>${esc(plot.title)}</h2>`,
      `<p class="caption">${esc(plot.caption)} <code>--plot ${esc(plot.name)}</code></p>`,
      `<figure class="chart" data-plot="${esc(plot.name)}">${p.rendered[i]!.svg}</figure>`,
      table(plot.table),
      '</section>',
    ].join('\n'),
  );
  const notes =
    input.kind === 'compare' && input.compare.notes.length > 0
      ? `<section id="notes">\n<h2>Notes</h2>\n<ul>\n${input.compare.notes.map((n) => `<li>${esc(n.text)}</li>`).join('\n')}\n</ul>\n</section>`
      : '';
  let scenario: string;
  if (input.kind === 'sweep')
    scenario = `<p>The sweep scenario (base scenario: ${esc(input.summary.base)}):</p>\n<pre>${esc(JSON.stringify(input.summary.scenario, null, 2))}</pre>`;
  else if (p.scenarioFile !== null)
    scenario = `<p>${esc(p.scenarioFile.name)}:</p>\n<pre>${esc(p.scenarioFile.text)}</pre>`;
  else
    scenario = `<p>The ${input.kind} output names its scenario (${esc(input.name)}) but does not contain it; <code>kvmsim report --scenario FILE</code> embeds the file here.</p>`;
  const inputKind = input.kind === 'sweep' ? 'summary' : input.kind;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="generator" content="kvmsim ${esc(p.version)}">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<header>
<h1>${esc(title)}</h1>
<p class="meta">${esc(describe(input))} Input: ${esc(p.inputName)}. Report made by kvmsim ${esc(p.version)}.</p>
</header>
<nav><ul>
${p.plots.map((plot) => `<li><a href="#plot-${esc(plot.name)}">${esc(plot.title)}</a></li>`).join('\n')}
${notes ? '<li><a href="#notes">Notes</a></li>\n' : ''}<li><a href="#scenario">Scenario</a></li>
</ul></nav>
${sections.join('\n')}
${notes}
<section id="scenario">
<h2>Scenario</h2>
${scenario}
</section>
<section id="data">
<h2>Data</h2>
<p>The ${esc(input.kind)} input is embedded as JSON in the element <code>#kvmsim-${inputKind}</code> of this page.</p>
<script type="application/json" id="kvmsim-${inputKind}">${scriptJson(input.raw)}</script>
</section>
</body>
</html>
`;
}
