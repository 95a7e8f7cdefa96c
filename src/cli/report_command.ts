// `kvmsim report INPUT [--out FILE]`: a self-contained HTML report with plots of a sweep directory, a
// `kvmsim compare --json` file or a `kvmsim run --json` file; `--format svg|png --plot NAME` writes one
// plot for a paper or slides (docs/report.md).
import { existsSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import type { Command } from 'commander';
// Lazy like every command (main.ts): the inputs, the plots and vega load when the action runs.
import { UsageError } from '../scenario/usage_error.ts';
import { openOutput } from './output_file.ts';

interface ReportFlags {
  out?: string;
  format: string;
  plot?: string;
  x?: string;
  scenario?: string;
  json?: boolean;
}

/** `report --json` (docs/cli.md, "kvmsim report INPUT"): what was read and written. */
interface ReportJson {
  version: string;
  input: string;
  input_kind: 'sweep' | 'compare' | 'run';
  /** The files read: the input's (a sweep's summary.json and points.jsonl) and --scenario's. */
  inputs: string[];
  format: string;
  /** The file written (--out), with its size. */
  files: Array<{ path: string; bytes: number }>;
  /** The plots in it: every plot of the report, or the one --plot chose. */
  plots: Array<{ name: string; title: string; width: number; height: number }>;
}

const FORMATS = ['html', 'svg', 'png'];

export function register(program: Command): void {
  program
    .command('report')
    .description(
      'turn a sweep directory, a `compare --json` or a `run --json` file into a self-contained HTML report with plots',
    )
    .argument(
      '<input>',
      'a `kvmsim sweep` output directory, or a `kvmsim compare --json` / `kvmsim run --json` file',
    )
    .option(
      '--out <file>',
      'write the report (or the plot) here, atomically (default: stdout; png needs --out)',
    )
    .option('--format <format>', 'html (the whole report), svg or png (one plot, with --plot)', 'html')
    .option('--plot <name>', 'with --format svg|png: the plot to write (the report names each one)')
    .option(
      '--x <path>',
      'sweep: the swept path on the x axis (default: the first numeric one that is not the APF mode)',
    )
    .option(
      '--scenario <file>',
      'run/compare: the scenario file to embed in the report (their JSON has only its name)',
    )
    .option('--json', 'with --out: print what was read and written (files, plots, inputs, version) as JSON')
    .action(async (inputPath: string, flags: ReportFlags) => {
      const { reportHtml } = await import('../report/html.ts');
      const { loadReportInput } = await import('../report/input.ts');
      const { plotsFor } = await import('../report/plots.ts');
      const { renderSvg } = await import('../report/render.ts');
      const { VERSION: KVMSIM_VERSION } = await import('../scenario/version.ts');
      if (!FORMATS.includes(flags.format))
        throw new UsageError(
          `--format: expected one of ${FORMATS.join(', ')}, got ${JSON.stringify(flags.format)}`,
        );
      if (flags.format === 'html' && flags.plot !== undefined)
        throw new UsageError('--plot: only with --format svg or png (the HTML report has every plot)');
      if (flags.format === 'png' && flags.out === undefined)
        throw new UsageError('--format png: needs --out FILE (PNG is not written to stdout)');
      if (flags.json && flags.out === undefined)
        throw new UsageError('--json: needs --out FILE (the report goes to the file, the JSON to stdout)');
      const input = loadReportInput(inputPath);
      if (flags.x !== undefined && input.kind !== 'sweep') throw new UsageError('--x: sweep inputs only');
      let scenarioFile: { name: string; text: string } | null = null;
      if (flags.scenario !== undefined) {
        if (input.kind === 'sweep')
          throw new UsageError('--scenario: run and compare inputs only (a sweep embeds its own scenario)');
        try {
          scenarioFile = { name: basename(flags.scenario), text: readFileSync(flags.scenario, 'utf8') };
        } catch (e) {
          throw new UsageError(
            `--scenario: ${JSON.stringify(flags.scenario)}: cannot read it (${(e as NodeJS.ErrnoException).code ?? 'error'})`,
          );
        }
      }
      const plots = plotsFor(input, flags.x);
      // The files an output must not overwrite.
      const inputs =
        input.kind === 'sweep'
          ? [join(inputPath, 'summary.json'), join(inputPath, 'points.jsonl'), join(inputPath, 'points.csv')]
          : [inputPath];
      if (flags.scenario !== undefined) inputs.push(flags.scenario);
      const read =
        input.kind === 'sweep'
          ? [join(inputPath, 'summary.json'), join(inputPath, 'points.jsonl')].filter((f) => existsSync(f))
          : [inputPath];
      if (flags.scenario !== undefined) read.push(flags.scenario);
      const write = (
        data: string | Uint8Array,
        written: Array<{ plot: (typeof plots)[number]; width: number; height: number }>,
      ): void => {
        if (flags.out === undefined) {
          process.stdout.write(data);
          return;
        }
        const f = openOutput('--out', flags.out, inputs);
        f.write(data);
        f.commit();
        if (!flags.json) return;
        const json: ReportJson = {
          version: KVMSIM_VERSION,
          input: inputPath,
          input_kind: input.kind,
          inputs: read,
          format: flags.format,
          files: [
            { path: flags.out, bytes: typeof data === 'string' ? Buffer.byteLength(data) : data.length },
          ],
          plots: written.map((w) => ({
            name: w.plot.name,
            title: w.plot.title,
            width: w.width,
            height: w.height,
          })),
        };
        process.stdout.write(`${JSON.stringify(json)}\n`);
      };
      if (flags.format === 'html') {
        const rendered: Array<Awaited<ReturnType<typeof renderSvg>>> = [];
        for (const [i, plot] of plots.entries()) rendered.push(await renderSvg(plot.spec, `p${i + 1}`));
        write(
          reportHtml({
            input,
            inputName: basename(inputPath.replace(/\/+$/, '')),
            plots,
            rendered,
            version: KVMSIM_VERSION,
            scenarioFile,
          }),
          plots.map((plot, i) => ({ plot, width: rendered[i]!.width, height: rendered[i]!.height })),
        );
        return;
      }
      const names = plots.map((p) => p.name);
      const name = flags.plot ?? (names.length === 1 ? names[0] : undefined);
      const plot = plots.find((p) => p.name === name);
      if (plot === undefined)
        throw new UsageError(
          `--plot: ${flags.plot === undefined ? 'missing' : `${JSON.stringify(flags.plot)} is not a plot of ${inputPath}`}; expected one of ${names.map((n) => JSON.stringify(n)).join(', ')}`,
        );
      const r = await renderSvg(plot.spec, 'p1');
      if (flags.format === 'svg') {
        write(`<?xml version="1.0" encoding="UTF-8"?>\n${r.svg}\n`, [
          { plot, width: r.width, height: r.height },
        ]);
        return;
      }
      const { svgToPng } = await import('../report/chromium.ts');
      write(await svgToPng(r.svg, r.width, r.height), [{ plot, width: r.width, height: r.height }]);
    });
}
