// A worker thread of pool.ts: receives { module, fn, arg }, imports the module (cached after the first
// time), calls the function, and answers { ok, result } or { ok: false, failure }. One task at a time.
import { parentPort } from 'node:worker_threads';
import { describeFailure } from './pool.ts';

const port = parentPort;
if (port === null) throw new Error('pool_worker.ts runs only as a worker thread (pool.ts)');

port.on('message', async (m: { module: string; fn: string; arg: unknown }) => {
  try {
    const mod = (await import(m.module)) as Record<string, (a: unknown) => unknown>;
    const f = mod[m.fn];
    if (typeof f !== 'function') throw new Error(`${m.module}: no exported function ${m.fn}`);
    const result = await f(m.arg);
    port.postMessage({ ok: true, result });
  } catch (e) {
    port.postMessage({ ok: false, failure: describeFailure(e) });
  }
});
