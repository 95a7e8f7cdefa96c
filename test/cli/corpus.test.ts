// issue 12, "One error path": a corpus of malformed inputs (test/cli/corpus/), across every scenario kind
// (x86 and Linux-guest scripts, s390 scripts, x86 and s390 sims, x86 and s390 explores, saved
// counterexamples) and every command's flags, each checked for the contract: exit 2, exactly one line on
// stderr (`kvmsim: …`) that names the file and a field, or the flag or variable at fault; nothing on stdout;
// no file written.
//
// A corpus file's header may say `# command: run` (the default follows its `kind:`; `.json` files are
// replayed) and `# flags: …`, where OUT is an empty output folder, SELF the corpus file itself and
// ENV:NAME=VALUE an environment variable. Besides the files, a few command lines with no corpus file.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { test } from 'node:test';
import { type CliCase, runCliCases } from '../test_utils/cli_cases.ts';

const corpus = join(import.meta.dirname, 'corpus');
const example = join(import.meta.dirname, '../../examples/apf-basic.yaml');

interface Entry extends CliCase {
  readonly name: string;
  /** What the stderr line must name: the file and a field (`NAME: field: `), or a flag / variable. */
  readonly names: RegExp;
}

function entries(): Entry[] {
  const out: Entry[] = [];
  for (const f of readdirSync(corpus).sort()) {
    const path = join(corpus, f);
    const dir = mkdtempSync(join(tmpdir(), 'kvmsim-corpus-'));
    const head = readFileSync(path, 'latin1');
    const kind = /^kind: (\w+)/m.exec(head)?.[1];
    const command =
      /^# command: (\w+)/m.exec(head)?.[1] ??
      (f.endsWith('.json') ? 'replay' : kind === 'sim' ? 'run' : kind === 'explore' ? 'explore' : 'script');
    const flags = (/^# flags: (.*)$/m.exec(head)?.[1] ?? '').split(' ').filter((x) => x !== '');
    const env: Record<string, string> = {};
    const args = [command, path];
    for (const fl of flags) {
      const m = /^ENV:(\w+)=(.*)$/.exec(fl);
      if (m) env[m[1]!] = m[2]!;
      else args.push(fl.replace(/^OUT/, dir).replace(/^SELF$/, path));
    }
    const flag = flags
      .filter((x) => x.startsWith('--'))
      .map((x) => x.replace(/[-]/g, '\\-'))
      .join('|');
    const envName = Object.keys(env)[0];
    const file = basename(f).replaceAll('.', '\\.');
    const names = envName
      ? new RegExp(`^kvmsim: ${envName}: `)
      : flag
        ? new RegExp(`^kvmsim: (\\S*${file}: [\\w.[\\]()]+( level\\))?: .*|.*(${flag})\\b.*)$`)
        : new RegExp(`^kvmsim: \\S*${file}( \\(scenario\\))?: [\\w.[\\]()]+( level\\))?: `);
    out.push({ name: f, args, env, dir, names });
  }
  // Command lines with no corpus file of their own.
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-corpus-'));
  const extra: Array<[string, string[], RegExp]> = [
    [
      'script /dev/zero (no end)',
      ['script', '/dev/zero'],
      /^kvmsim: \/dev\/zero: \(top level\): larger than 16 MiB/,
    ],
    [
      'script of a missing file',
      ['script', join(dir, 'absent.yaml')],
      /absent\.yaml: \(top level\): cannot read the file \(ENOENT\)$/,
    ],
    // A directory is a suite (issue 13); an empty one has nothing to run.
    [
      'script of an empty directory',
      ['script', dir],
      /^kvmsim: \S+: no scenario files \(\*\.yaml, \*\.yml\) in the directory$/,
    ],
    [
      'script of a glob that matches nothing',
      ['script', join(dir, '*.yaml')],
      /^kvmsim: \S+\*\.yaml: no file matches the pattern$/,
    ],
    ['an unknown command', ['frobnicate'], /^kvmsim: error: unknown command 'frobnicate'$/],
    ['a missing argument', ['run'], /^kvmsim: error: missing required argument 'file'$/],
    [
      'replay --trace onto its input',
      [
        'replay',
        join(corpus, 'replay-unknown-step.json'),
        '--trace',
        join(corpus, 'replay-unknown-step.json'),
      ],
      /^kvmsim: --trace: .*is also/,
    ],
    ['explore of a script', ['explore', example], /apf-basic\.yaml: kind: /],
    ['run of a script', ['run', example], /apf-basic\.yaml: kind: /],
  ];
  for (const [name, args, names] of extra) out.push({ name, args, dir, names });
  return out;
}

test('every malformed input: exit 2, one line naming the file and field (or the flag), nothing written', () => {
  const list = entries();
  assert.ok(list.length >= 60, `${list.length} cases`);
  const results = runCliCases(list);
  const failures: string[] = [];
  list.forEach((e, i) => {
    const r = results[i]!;
    const lines = r.stderr.split('\n').filter((l) => l !== '');
    const problems = [
      r.status !== 2 ? `exit ${r.status}` : '',
      r.stdout !== '' ? `stdout ${JSON.stringify(r.stdout.slice(0, 80))}` : '',
      lines.length !== 1 ? `${lines.length} stderr lines` : '',
      lines.length === 1 && !e.names.test(lines[0]!) ? `does not match ${e.names}` : '',
      /undefined|NaN as null|got null|\bat .*\.ts:\d+/.test(r.stderr)
        ? 'undefined/null/stack in the message'
        : '',
      r.files.length > 0 ? `files written: ${r.files.join(', ')}` : '',
    ].filter((p) => p !== '');
    if (problems.length > 0) failures.push(`${e.name}: ${problems.join('; ')}\n    ${r.stderr.trim()}`);
  });
  assert.deepEqual(failures, []);
});

test('--debug adds the stack trace; --allow-large does not lift the per-VM page limit', () => {
  const [debug, large] = runCliCases([
    { args: ['script', join(corpus, 'script-vcpus-zero.yaml'), '--debug'] },
    { args: ['run', join(corpus, 'sim-memory-4pib.yaml'), '--allow-large'] },
  ]);
  assert.equal(debug!.status, 2);
  assert.match(
    debug!.stderr,
    /^kvmsim: .*vm\.vcpus: expected an integer 1\.\.64, got 0 \(at \S+:\d+:\d+\)\nScenarioError: .*\n\s+at /,
  );
  assert.equal(large!.status, 2, large!.stderr);
  assert.match(
    large!.stderr,
    /^kvmsim: .*sim-memory-4pib\.yaml: vms\[0\]\.memory: expected at most 16 TiB per VM .*got 4 PiB\n$/,
  );
});
