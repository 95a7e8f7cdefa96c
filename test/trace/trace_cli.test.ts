// The trace flags on the command line: `script --trace` (gzipped for .gz), `run --trace-window`, and
// the non-trace output unchanged by them.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { checkTraceText, formatCheckReport } from '../../src/trace/trace_check.ts';

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const examples = join(import.meta.dirname, '../../examples');
const dir = mkdtempSync(join(tmpdir(), 'kvmsim-trace-cli-'));

test('script --trace FILE.json.gz: the tracepoints as instants, gzipped; the transcript unchanged', () => {
  const f = join(examples, 'apf-basic.yaml');
  const out = join(dir, 's.json.gz');
  const plain = kvmsim('script', f);
  const traced = kvmsim('script', f, '--trace', out);
  assert.equal(traced.status, 0, traced.stderr);
  assert.equal(traced.stdout, plain.stdout);
  const text = gunzipSync(readFileSync(out)).toString('utf8');
  const r = checkTraceText(text);
  assert.equal(r.total, 0, formatCheckReport(r));
  assert.match(text, /"ph":"i","cat":"tracepoint","name":"kvm_async_pf_not_present","pid":999,"tid":1000,/);
  const kvm = kvmsim('script', f, '--backend', 'kvm', '--trace', join(dir, 'k.json'));
  assert.equal(kvm.status, 2);
  assert.match(kvm.stderr, /--trace: only with --backend model/);
});

test('run --trace-window: a bad window is one line, exit 2; without --trace it is refused', () => {
  const f = join(examples, 'sim/calibration.yaml');
  for (const w of ['5ms', '2ms:1ms', 'xms:1ms']) {
    const r = kvmsim('run', f, '--trace', join(dir, 'w.json'), '--trace-window', w);
    assert.equal(r.status, 2, w);
    assert.match(r.stderr, /^kvmsim: --trace-window: "[^"]*": .+\n$/, w);
  }
  const r = kvmsim('run', f, '--trace-window', '1ms:2ms');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--trace-window: only with --trace or --ftrace/);
});
