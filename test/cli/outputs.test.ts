// issue 12 items 5 and 6: output files and I/O errors. Every file kvmsim writes goes through
// src/cli/output_file.ts: a temporary file renamed into place on success, nothing at the final path on an
// error or a kill, an output path equal to an input refused, and unusable paths (a missing directory, a
// directory, /dev/full) or a failing stdout give one line on stderr and exit 2, never a stack trace.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type CliCase, runCliCases } from '../test_utils/cli_cases.ts';

const root = join(import.meta.dirname, '../..');
const bin = join(root, 'bin/kvmsim.js');
const examples = join(root, 'examples');
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-outputs-'));
const sim = join(dir, 'web.yaml');
copyFileSync(join(examples, 'sim/web-overcommit.yaml'), sim);
const simText = readFileSync(sim, 'utf8');
const script = join(examples, 'apf-basic.yaml');
const explore = join(examples, 'explore/token-zero.yaml');
const missing = join(dir, 'no-such-dir');
const short = ['--max-events', '5000'];

// Each case: the command line, the exit code, the stderr line, and the files `dir` holds afterwards.
const cases: Array<{ name: string; args: string[]; status: number; stderr: RegExp; files: string[] }> = [
  {
    name: 'run --trace into a missing directory',
    args: ['run', sim, '--trace', join(missing, 't.json')],
    status: 2,
    stderr: /^kvmsim: --trace: ".*no-such-dir\/t\.json": the directory ".*no-such-dir" does not exist$/,
    files: ['web.yaml'],
  },
  {
    name: 'run --trace onto a directory',
    args: ['run', sim, '--trace', dir],
    status: 2,
    stderr: /^kvmsim: --trace: ".*": is a directory; expected a file path$/,
    files: ['web.yaml'],
  },
  {
    name: 'run --trace onto the scenario itself',
    args: ['run', sim, '--trace', sim],
    status: 2,
    stderr: /^kvmsim: --trace: ".*web\.yaml": is also ".*web\.yaml", an input or another output/,
    files: ['web.yaml'],
  },
  {
    name: 'run --trace and --ftrace to the same file',
    args: ['run', sim, '--trace', join(dir, 'same.txt'), '--ftrace', join(dir, 'same.txt')],
    status: 2,
    stderr: /^kvmsim: --ftrace: ".*same\.txt": is also/,
    files: ['web.yaml'],
  },
  {
    name: 'run --ftrace onto a full disk (/dev/full)',
    args: ['run', sim, '--ftrace', '/dev/full', '--trace', join(dir, 'ok.json')],
    status: 2,
    stderr: /^kvmsim: --ftrace: "\/dev\/full": cannot write: no space left on the device \(ENOSPC\)$/,
    files: ['web.yaml'],
  },
  {
    name: 'script --ftrace into a missing directory',
    args: ['script', script, '--ftrace', join(missing, 'f.txt')],
    status: 2,
    stderr: /^kvmsim: --ftrace: .*does not exist$/,
    files: ['web.yaml'],
  },
  {
    name: 'script --ftrace onto a full disk',
    args: ['script', script, '--ftrace', '/dev/full'],
    status: 2,
    stderr: /^kvmsim: --ftrace: "\/dev\/full": cannot write: .*ENOSPC/,
    files: ['web.yaml'],
  },
  {
    name: 'explore --save into a missing directory (checked before the search)',
    args: ['explore', explore, '--save', join(missing, 'cx.json')],
    status: 2,
    stderr: /^kvmsim: --save: .*does not exist$/,
    files: ['web.yaml'],
  },
  {
    name: 'explore --save onto a full disk',
    args: ['explore', explore, '--save', '/dev/full'],
    status: 2,
    stderr: /^kvmsim: --save: "\/dev\/full": cannot write: .*ENOSPC/,
    files: ['web.yaml'],
  },
  {
    name: 'a budget stop keeps the partial traces (complete files), no temporary file',
    args: ['run', sim, ...short, '--trace', join(dir, 'partial.json'), '--ftrace', join(dir, 'partial.txt')],
    status: 3,
    stderr: /^kvmsim: .*web\.yaml: budget: --max-events 5000 reached; partial metrics printed$/,
    files: ['partial.json', 'partial.txt', 'web.yaml'],
  },
];

test('unusable output paths: one line on stderr, exit 2, nothing written, no temporary file left', () => {
  const results = runCliCases(cases.map((c): CliCase => ({ args: c.args, dir })));
  cases.forEach((c, i) => {
    const r = results[i]!;
    assert.equal(r.status, c.status, `${c.name}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, `${c.name}: ${r.stderr}`);
    assert.match(r.stderr.trim(), c.stderr, c.name);
    if (c.status === 2) assert.equal(r.stdout, '', c.name);
    assert.deepEqual(r.files, c.files, c.name);
  });
  assert.equal(readFileSync(sim, 'utf8'), simText, 'the scenario is not overwritten');
  // The partial trace is a whole Chrome trace (valid JSON), not a cut-off one.
  const trace = JSON.parse(readFileSync(join(dir, 'partial.json'), 'utf8')) as { traceEvents: unknown[] };
  assert.ok(trace.traceEvents.length > 0);
});

test('a killed run leaves nothing at the trace path, and its temporary file is removed', async (t) => {
  const long = join(dir, 'long.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(long, simText.replace(/^duration: .*$/m, 'duration: 600s'));
  const sub = mkdtempSync(join(dir, 'kill-'));
  const out = join(sub, 'trace.json');
  const child = spawn(process.execPath, [bin, 'run', long, '--trace', out], { stdio: 'ignore' });
  const exited = new Promise<number | null>((res) => child.on('exit', (_code, sig) => res(sig as never)));
  // Whatever the assertions say, the 600 s run must not outlive the test.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  // Wait until the run is writing its (temporary) trace, then kill it.
  // Up to a minute: on a loaded 2-core machine the start alone can take many seconds.
  for (let i = 0; i < 1200 && readdirSync(sub).length === 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(readdirSync(sub).length, 1, 'the run writes a temporary file');
  assert.match(readdirSync(sub)[0]!, /^\.trace\.json\.\d+\.[0-9a-f]+\.tmp$/);
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGTERM');
  await exited;
  for (let i = 0; i < 100 && readdirSync(sub).length > 0; i++) await new Promise((r) => setTimeout(r, 50));
  assert.equal(existsSync(out), false, 'nothing at the final path');
  assert.deepEqual(readdirSync(sub), [], 'the temporary file is removed');
});

test('stdout on a full disk or a closed pipe: one line on stderr, exit 2, no stack trace', async () => {
  const full = openSync('/dev/full', 'w');
  try {
    const r = spawnSync(process.execPath, [bin, 'script', script], {
      stdio: ['ignore', full, 'pipe'],
      encoding: 'utf8',
    });
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stderr, 'kvmsim: stdout: cannot write: no space left on the device (ENOSPC)\n');
  } finally {
    closeSync(full);
  }
  // EPIPE: the reader closes the pipe before the command prints.
  const child = spawn(process.execPath, [bin, 'script', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.destroy();
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr += d;
  });
  const code = await new Promise<number | null>((res) => child.on('close', (c) => res(c)));
  assert.equal(code, 2, stderr);
  assert.equal(stderr, 'kvmsim: stdout: cannot write: the reader closed the pipe (EPIPE)\n');
});
