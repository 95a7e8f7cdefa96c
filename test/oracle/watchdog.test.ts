// The worker process and its watchdog, without /dev/kvm: a worker that fails is a crash with its
// reason, and one that outlives its time limit is killed and reported as a hang; a worker that failed
// is replaced for the next script of a batch.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runScriptsOnKvm, supervise } from '../../src/oracle/backend.ts';
import { KvmWorker } from '../../src/oracle/supervisor.ts';
import type { WorkerRequest } from '../../src/oracle/worker.ts';
import { ScriptSchema } from '../../src/script/schema.ts';

const request = (device: string): WorkerRequest => ({
  script: ScriptSchema.parse({ kind: 'script', ops: [{ op: 'rdmsr', msr: 'MSR_KVM_ASYNC_PF_EN' }] }),
  device,
  guest: 'real',
  hangMs: 1000,
  settleMs: 25,
});

test('a worker that cannot open its device is reported as a crash, with the reason', async () => {
  const r = await supervise(request('/nonexistent/kvm'), 20_000);
  assert.equal(r.status, 'crash');
  assert.ok(r.status === 'crash' && /nonexistent\/kvm/.test(r.reason), 'reason' in r ? r.reason : '');
});

test('a worker that outlives the time limit is killed and reported as a hang', async () => {
  const t = performance.now();
  const r = await supervise(request('/dev/kvm'), 50);
  assert.equal(r.status, 'hang');
  assert.ok(r.status === 'hang' && /within 50 ms/.test(r.reason));
  assert.ok(performance.now() - t < 5000);
});

test('a KvmWorker replaces a child that failed, for the next script', async () => {
  const w = new KvmWorker();
  try {
    const first = await w.run(request('/nonexistent/kvm'), 20_000);
    const second = await w.run(request('/nonexistent/kvm'), 20_000);
    assert.equal(first.status, 'crash');
    assert.equal(second.status, 'crash');
    assert.equal(w.spawned, 2);
  } finally {
    w.close();
  }
});

test('a batch without a usable device: every script is unavailable, with the reason', async () => {
  const env = { KVM_ORACLE: 'auto', KVM_ORACLE_DEVICE: '/nonexistent/kvm' };
  const rs = await runScriptsOnKvm([{ script: request('').script }, { script: request('').script }], { env });
  assert.deepEqual(
    rs.map((r) => r.status),
    ['unavailable', 'unavailable'],
  );
});
