// A worker thread of pool.ts: receives { module, fn, arg }, imports the module (cached after the first
// time), calls the function, and answers { ok, result } or { ok: false, failure }. One task at a time.
import { parentPort } from 'node:worker_threads';
import { describeFailure } from './pool.ts';

const port = parentPort;
if (port === null) throw new Error('pool_worker.ts runs only as a worker thread (pool.ts)');

/**
 * A batch (pool.ts mapWithCaller): claim task indexes from the shared counter until none is left, answer
 * each, then say done.
 */
async function runBatch(m: { module: string; fn: string; args: unknown[]; counter: SharedArrayBuffer }) {
  const counter = new Int32Array(m.counter);
  const t0 = performance.now();
  let f: ((a: unknown) => unknown) | undefined;
  let importMs = 0;
  for (;;) {
    const index = Atomics.add(counter, 0, 1);
    if (index >= m.args.length) break;
    try {
      if (f === undefined) {
        const mod = (await import(m.module)) as Record<string, (a: unknown) => unknown>;
        f = mod[m.fn];
        if (typeof f !== 'function') throw new Error(`${m.module}: no exported function ${m.fn}`);
        importMs = performance.now() - t0;
      }
      const t2 = performance.now();
      const result = await f(m.args[index]);
      const t3 = performance.now();
      port!.postMessage({
        kind: 'result',
        index,
        ok: true,
        result,
        times: { importMs, runMs: t3 - t2, sentAt: performance.timeOrigin + t3 },
      });
      importMs = 0;
    } catch (e) {
      port!.postMessage({ kind: 'result', index, ok: false, failure: describeFailure(e) });
      break;
    }
  }
  port!.postMessage({ kind: 'done' });
}

port.on('message', async (m: { module: string; fn: string; arg: unknown }) => {
  if ((m as { batch?: boolean }).batch === true) {
    await runBatch(m as unknown as Parameters<typeof runBatch>[0]);
    return;
  }
  // Times for the pool's profile (KVMSIM_POOL_PROFILE, pool.ts): the import and the call, in ms.
  const t0 = performance.now();
  try {
    const mod = (await import(m.module)) as Record<string, (a: unknown) => unknown>;
    const f = mod[m.fn];
    if (typeof f !== 'function') throw new Error(`${m.module}: no exported function ${m.fn}`);
    const t1 = performance.now();
    const result = await f(m.arg);
    const t2 = performance.now();
    port.postMessage({
      ok: true,
      result,
      times: { importMs: t1 - t0, runMs: t2 - t1, sentAt: performance.timeOrigin + t2 },
    });
  } catch (e) {
    port.postMessage({ ok: false, failure: describeFailure(e) });
  }
});
