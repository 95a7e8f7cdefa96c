// `kvmsim report --json` (docs/cli.md, "kvmsim report INPUT"): one JSON object on stdout naming what was read
// (the input's files, --scenario), what was written (--out and its size) and the plots in it, with the
// version; without --out it is refused (the report itself would be on stdout), one line, exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadReportInput } from '../../src/report/input.ts';
import { plotsFor } from '../../src/report/plots.ts';
import { runCliCases } from '../test_utils/cli_cases.ts';

const fixtures = join(import.meta.dirname, 'fixtures');
const sweepDir = join(fixtures, 'sweep');
const runFile = join(fixtures, 'run.json');
const base = join(fixtures, 'base.yaml');
const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-report-json-'));
const version = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }
).version;
after(() => rmSync(tmp, { recursive: true, force: true }));

interface ReportJson {
  version: string;
  input: string;
  input_kind: string;
  inputs: string[];
  format: string;
  files: Array<{ path: string; bytes: number }>;
  plots: Array<{ name: string; title: string; width: number; height: number }>;
}

test('report --json: the files read and written, the plots and the version; refused without --out', () => {
  const html = join(tmp, 'sweep.html');
  const svg = join(tmp, 'work.svg');
  const [sweep, one, plain, noOut] = runCliCases([
    { args: ['report', sweepDir, '--out', html, '--json'] },
    {
      args: [
        'report',
        runFile,
        '--format',
        'svg',
        '--plot',
        'work',
        '--out',
        svg,
        '--scenario',
        base,
        '--json',
      ],
    },
    { args: ['report', runFile, '--format', 'svg', '--plot', 'work', '--out', join(tmp, 'plain.svg')] },
    { args: ['report', runFile, '--json'] },
  ]);
  assert.equal(sweep!.status, 0, sweep!.stderr);
  assert.equal(sweep!.stdout.split('\n').length, 2, 'one line of JSON');
  const s = JSON.parse(sweep!.stdout) as ReportJson;
  assert.equal(s.version, version);
  assert.equal(s.input, sweepDir);
  assert.equal(s.input_kind, 'sweep');
  assert.deepEqual(s.inputs, [join(sweepDir, 'summary.json'), join(sweepDir, 'points.jsonl')]);
  assert.equal(s.format, 'html');
  assert.deepEqual(s.files, [{ path: html, bytes: statSync(html).size }]);
  // Every plot of the report, in its order, each drawn in the page under its name.
  const names = plotsFor(loadReportInput(sweepDir)).map((p) => p.name);
  assert.deepEqual(
    s.plots.map((p) => p.name),
    names,
  );
  const page = readFileSync(html, 'utf8');
  for (const p of s.plots) {
    assert.ok(p.width > 100 && p.height > 100, `${p.name}: ${p.width}×${p.height}`);
    assert.ok(page.includes(`width="${p.width}"`), `${p.name}'s SVG is ${p.width} wide in the page`);
  }

  assert.equal(one!.status, 0, one!.stderr);
  const o = JSON.parse(one!.stdout) as ReportJson;
  assert.equal(o.input_kind, 'run');
  assert.deepEqual(o.inputs, [runFile, base]);
  assert.equal(o.format, 'svg');
  assert.deepEqual(o.files, [{ path: svg, bytes: statSync(svg).size }]);
  assert.deepEqual(
    o.plots.map((p) => [p.name, p.title]),
    [['work', 'Guest work']],
  );
  assert.match(readFileSync(svg, 'utf8'), new RegExp(`<svg[^>]*width="${o.plots[0]!.width}"`));
  // --json changes stdout only: the file is the one written without it.
  assert.equal(plain!.stdout, '');
  assert.equal(readFileSync(svg, 'utf8'), readFileSync(join(tmp, 'plain.svg'), 'utf8'));

  assert.equal(noOut!.status, 2);
  assert.equal(noOut!.stdout, '');
  assert.equal(
    noOut!.stderr,
    'kvmsim: --json: needs --out FILE (the report goes to the file, the JSON to stdout)\n',
  );
});
