// `kvmsim worker --json` (docs/cli.md, "kvmsim worker URL"): one JSON line on stdout per point the worker ran
// (done, with the point's metrics as the sweep collected them; or failed, with the reason) and a summary
// line when it stops. A real redis-server on 127.0.0.1 at a free port (test/sweep/redis_server.ts); skipped,
// with the reason, where redis-server is not installed.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Queue } from 'bullmq';
import { kvmsim, type Proc, until } from './kvmsim_proc.ts';
import { redisUnavailable, startRedis } from './redis_server.ts';

const root = join(import.meta.dirname, '../..');
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
const skip = redisUnavailable();

test('worker --json: a line per point (done with its metrics, or failed with the reason), then a summary', {
  skip: skip ?? false,
  timeout: 600_000,
}, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-worker-json-'));
  const sweepFile = join(dir, 'two-points.yaml');
  writeFileSync(
    sweepFile,
    `kind: sweep
name: two-points
base: ${JSON.stringify(join(import.meta.dirname, 'fixtures', 'tiny.yaml'))}
set:
  host.swap.channels: 1
grid:
  - path: host.ram
    values: [80MiB, 112MiB]
    with:
      vms[*].initial_residency: [0.55, 0.8]
seeds: 1
metrics: [total.work.task_cpu_rate, total.faults.per_s]
`,
  );
  const redis = await startRedis();
  const procs: Proc[] = [];
  try {
    const worker = kvmsim(['worker', redis.url, '--jobs', '1', '--json']);
    procs.push(worker);
    const sub = kvmsim([
      'sweep',
      sweepFile,
      '--queue',
      redis.url,
      '--out',
      join(dir, 'out'),
      '--no-progress',
    ]);
    procs.push(sub);
    assert.equal(await sub.exit, 0, sub.stderr);
    // A point of another kvmsim version: the worker refuses it (UnrecoverableError), and says so.
    const queue = new Queue('kvmsim', { connection: { host: '127.0.0.1', port: redis.port } });
    try {
      await queue.add(
        'task',
        { version: '0.0.0-other', pointIndex: 7, seed: 3, file: 'other.yaml', raw: {}, metrics: [] },
        { jobId: 'other-version', removeOnComplete: false, removeOnFail: false },
      );
    } finally {
      await queue.close();
    }
    await until('the refused point', () => worker.stdout.includes('"other-version"'), 120_000);
    worker.child.kill('SIGTERM');
    assert.equal(await worker.exit, 0, worker.stderr);

    const lines = worker.stdout
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const done = lines.filter((l) => l.status === 'done');
    // Each done line is a point of the sweep, with the metrics the sweep wrote for it.
    const rows = readFileSync(join(dir, 'out', 'points.jsonl'), 'utf8')
      .trimEnd()
      .split('\n')
      .map(
        (l) => JSON.parse(l) as { pointIndex: number; seed: number; metrics: Record<string, number | null> },
      );
    assert.equal(rows.length, 2);
    assert.deepEqual(
      done.map((l) => `${l.point}/${l.seed}`).sort(),
      rows.map((r) => `${r.pointIndex}/${r.seed}`).sort(),
    );
    for (const l of done) {
      const row = rows.find((r) => r.pointIndex === l.point && r.seed === l.seed)!;
      assert.deepEqual(l.metrics, row.metrics, `metrics of point ${l.point}`);
      assert.deepEqual(l.missing, []);
      assert.equal(l.file, join(import.meta.dirname, 'fixtures', 'tiny.yaml'), 'the base scenario');
      assert.equal(typeof l.job, 'string');
    }
    assert.deepEqual(
      lines.filter((l) => l.status === 'failed'),
      [
        {
          job: 'other-version',
          file: 'other.yaml',
          point: 7,
          seed: 3,
          status: 'failed',
          error: `this worker runs kvmsim ${version}, the sweep was submitted by kvmsim 0.0.0-other`,
        },
      ],
    );
    // The last line, written when it stopped.
    assert.deepEqual(lines.at(-1), {
      summary: { done: 2, failed: 1 },
      queue: 'kvmsim',
      redis: `127.0.0.1:${redis.port}`,
      threads: 1,
      version,
    });
    assert.equal(lines.length, 4);
    // The log stays on stderr, as without --json.
    assert.match(worker.stderr, /kvmsim worker: serving queue kvmsim on 127\.0\.0\.1:\d+ with 1 thread\(s\)/);
  } finally {
    for (const p of procs)
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.exit));
    await redis.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
