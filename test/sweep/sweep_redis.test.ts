// kvmsim sweep --queue on BullMQ (docs/sweeps.md, "Several machines"): a real redis-server on 127.0.0.1 at
// a free port, two `kvmsim worker` processes, one killed (SIGKILL) while it runs a point. BullMQ's stalled-job
// check hands that point to the other worker; the collected results must equal the local run byte for byte,
// with no point lost and none counted twice. Skipped, with the reason, where redis-server is not installed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { kvmsim, type Proc, until } from './kvmsim_proc.ts';
import { redisUnavailable, startRedis } from './redis_server.ts';

const sweepFile = join(import.meta.dirname, 'fixtures/tiny-sweep.yaml');
const FILES = ['points.jsonl', 'points.csv', 'summary.json'];
const skip = redisUnavailable();

test('sweep --queue: two workers, one killed mid-point: the result equals the local run, no point lost or doubled', {
  skip: skip ?? false,
  timeout: 600_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-sweep-redis-'));
  const redis = await startRedis();
  const procs: Proc[] = [];
  try {
    const local = kvmsim(['sweep', sweepFile, '--out', join(dir, 'local'), '--jobs', '1', '--no-progress']);
    procs.push(local);
    assert.equal(await local.exit, 0, local.stderr);

    const w1 = kvmsim(['worker', redis.url, '--jobs', '1', '--lock-duration', '2s']);
    const w2 = kvmsim(['worker', redis.url, '--jobs', '1', '--lock-duration', '2s']);
    procs.push(w1, w2);
    const sub = kvmsim([
      'sweep',
      sweepFile,
      '--queue',
      redis.url,
      '--out',
      join(dir, 'queued'),
      '--no-progress',
    ]);
    procs.push(sub);
    // Kill w1 as soon as it has taken a point (its first point also loads the model into its thread, so
    // it is still running it).
    await until('worker 1 to take a point', () => /started (\S+)/.test(w1.stderr), 120_000);
    const killedJob = /started (\S+)/.exec(w1.stderr)![1]!;
    w1.child.kill('SIGKILL');
    assert.equal(await w1.exit, null);
    assert.ok(!w1.stderr.includes(`finished ${killedJob}`), w1.stderr);
    assert.equal(await sub.exit, 0, sub.stderr);
    // The killed worker's point was run again, by the other worker.
    assert.ok(w2.stderr.includes(`started ${killedJob}`), w2.stderr);
    assert.ok(w2.stderr.includes(`finished ${killedJob}`), w2.stderr);
    for (const f of FILES)
      assert.equal(
        readFileSync(join(dir, 'queued', f), 'utf8'),
        readFileSync(join(dir, 'local', f), 'utf8'),
        f,
      );
    const keys = readFileSync(join(dir, 'queued', 'points.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => {
        const r = JSON.parse(l) as { pointIndex: number; seed: number };
        return `${r.pointIndex}/${r.seed}`;
      });
    assert.equal(keys.length, 18);
    assert.equal(new Set(keys).size, 18);
    // A rerun into the same directory has nothing left to do and submits nothing.
    const rerun = kvmsim(['sweep', sweepFile, '--queue', redis.url, '--out', join(dir, 'queued')]);
    procs.push(rerun);
    assert.equal(await rerun.exit, 0, rerun.stderr);
    w2.child.kill('SIGTERM');
    assert.equal(await w2.exit, 0, w2.stderr);
    assert.match(w2.stderr, /stopping after the points in progress/);
  } finally {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exit));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('sweep --queue: an unreachable Redis is one line, exit 2', {
  skip: skip ?? false,
  timeout: 120_000,
}, async () => {
  const { freePort } = await import('./redis_server.ts');
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-sweep-redis-'));
  try {
    const sub = kvmsim(['sweep', sweepFile, '--queue', `redis://127.0.0.1:${port}`, '--out', join(dir, 'x')]);
    assert.equal(await sub.exit, 2, sub.stderr);
    assert.match(
      sub.stderr,
      new RegExp(`^kvmsim: cannot reach Redis at 127\\.0\\.0\\.1:${port} within \\d+ s\\n$`),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
