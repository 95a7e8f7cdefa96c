// The worker process and its watchdog, without /dev/kvm: a worker that fails is a crash with its
// reason, and one that outlives its time limit is killed and reported as a hang.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { supervise } from '../../src/oracle/backend.ts';
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
