// How to start worker.ts. Through the tsx loader a worker needs ~0.6 s of CPU before it runs its first
// op (the loader's hook thread, resolving ~20 modules through it); as one plain ESM file it needs
// ~0.25 s. Every `kvmsim script --backend kvm` and `kvmsim diff` starts one, and so does the oracle
// suite, so the backend bundles the worker with esbuild (which tsx depends on) into
// node_modules/.cache/kvmsim/ and forks that.
//
// The bundle is named by a hash of its inputs' contents; the list of inputs comes from the last
// build's metafile. Any change to the worker's import graph changes an input that is on that list (the
// importing file), so a stale bundle is never used. Where esbuild cannot be imported or the cache
// cannot be written, the worker runs through tsx as before: slower, same behaviour.
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface WorkerEntry {
  /** The module to fork. */
  path: string;
  /** Node options for the child. */
  execArgv: string[];
  /** Why the tsx fallback is used, when it is. */
  fallback?: string;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const source = fileURLToPath(new URL('./worker.ts', import.meta.url));
const cacheDir = join(root, 'node_modules', '.cache', 'kvmsim');
const manifest = join(cacheDir, 'oracle-worker.json');

interface Manifest {
  esbuild: string;
  /** Input paths relative to the package root. */
  inputs: string[];
}

let cached: Promise<WorkerEntry> | undefined;

/** Resolved once per process. */
export function workerEntry(): Promise<WorkerEntry> {
  cached ??= resolveEntry();
  return cached;
}

function viaTsx(fallback: string): WorkerEntry {
  return { path: source, execArgv: ['--import', import.meta.resolve('tsx')], fallback };
}

/**
 * Running from the build (dist/, scripts/build.mjs; not a .ts file): this module is part of a bundle there, and the
 * build put the worker next to it as dist/oracle-worker.js. An installed package has neither the sources
 * nor esbuild.
 */
const builtWorker = !import.meta.url.endsWith('.ts')
  ? fileURLToPath(new URL('./oracle-worker.js', import.meta.url))
  : null;

async function resolveEntry(): Promise<WorkerEntry> {
  if (builtWorker !== null) return { path: builtWorker, execArgv: [] };
  if (process.env.KVMSIM_WORKER_TSX) return viaTsx('KVMSIM_WORKER_TSX is set');
  // biome-ignore lint/suspicious/noExplicitAny: esbuild is an optional, untyped-here transitive dependency.
  let esbuild: any;
  try {
    esbuild = await import('esbuild');
  } catch (e) {
    return viaTsx(`esbuild cannot be imported (${(e as Error).message.split('\n')[0]})`);
  }
  const version: string = esbuild.version;
  const existing = readManifest();
  if (existing && existing.esbuild === version) {
    const path = bundlePath(existing.inputs, version);
    if (path && existsSync(path)) return { path, execArgv: [] };
  }
  try {
    const out = await esbuild.build({
      entryPoints: [source],
      absWorkingDir: root,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      external: ['koffi'],
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(out.metafile.inputs).sort();
    const path = bundlePath(inputs, version);
    if (!path) return viaTsx('an input of the worker bundle vanished while it was built');
    mkdirSync(cacheDir, { recursive: true });
    writeAtomically(path, out.outputFiles[0].contents);
    writeAtomically(manifest, JSON.stringify({ esbuild: version, inputs } satisfies Manifest, null, 1));
    prune(path);
    return { path, execArgv: [] };
  } catch (e) {
    return viaTsx(`the worker bundle cannot be built or cached (${(e as Error).message.split('\n')[0]})`);
  }
}

function readManifest(): Manifest | null {
  try {
    const m = JSON.parse(readFileSync(manifest, 'utf8')) as Manifest;
    return Array.isArray(m.inputs) && typeof m.esbuild === 'string' ? m : null;
  } catch {
    return null;
  }
}

/** The bundle's file name for the current contents of `inputs`, or null when one cannot be read. */
function bundlePath(inputs: readonly string[], esbuildVersion: string): string | null {
  const h = createHash('sha256').update(`${esbuildVersion}\0${process.version}\0`);
  try {
    for (const f of inputs)
      h.update(`${f}\0`)
        .update(readFileSync(join(root, f)))
        .update('\0');
  } catch {
    return null;
  }
  return join(cacheDir, `oracle-worker-${h.digest('hex').slice(0, 16)}.mjs`);
}

/** Concurrent builders (parallel test files) each write a file of their own and rename it. */
function writeAtomically(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

/**
 * Removes bundles of older sources once they are a day old: a process that started before the sources
 * changed still forks its own bundle for a while (one per process, resolved at its first worker).
 */
function prune(keep: string): void {
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  try {
    for (const f of readdirSync(cacheDir)) {
      const path = join(cacheDir, f);
      if (/^oracle-worker-[0-9a-f]+\.mjs$/.test(f) && path !== keep && statSync(path).mtimeMs < dayAgo)
        rmSync(path);
    }
  } catch {
    // a concurrent prune got there first
  }
}
