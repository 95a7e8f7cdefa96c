// Loading variant modules (docs/variants.md). A variant is the user's own code, run in this process with
// kvmsim's rights: load only variants you trust, as you would a build script.
//
// Every variant file (.ts, .mts, .js, .mjs) is bundled by esbuild (types are stripped, not checked:
// `tsc --noEmit` against kvmsim's declarations checks them) into one CommonJS function in memory and run
// with a `require` that gives `'kvmsim'` the variant API of this running kvmsim (kvmsim_api.ts), so the
// constants and helpers a variant imports are this process's own, and node's built-in modules otherwise.
// No dynamic import(): the command bundles are CommonJS (scripts/build.mjs). Loaded variants are kept by
// absolute path for the life of the process (each thread of the worker pool loads its own), so the model
// can look them up synchronously.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, extname, isAbsolute, relative, resolve } from 'node:path';
import { compileFunction } from 'node:vm';
import { X86_KERNEL_FN_NAMES } from '../host/x86/kernel_fns.ts';
import { nearest } from '../scenario/load.ts';
import type { Variant } from './api.ts';
import type { LoadedVariant } from './compose.ts';
import * as kvmsimApi from './kvmsim_api.ts';
import { thrownText, VariantError } from './variant_error.ts';

const loaded = new Map<string, LoadedVariant>();

const TOP_KEYS = ['name', 'description', 'host', 'kernel', 'guest', 'state', 'properties'] as const;

/** The key a variant is kept under: its absolute path. */
export const variantKey = (file: string, baseDir: string): string =>
  isAbsolute(file) ? file : resolve(baseDir, file);

/** The path to show for a variant file: relative to the working directory when under it. */
function shown(abs: string): string {
  const r = relative(process.cwd(), abs);
  return r !== '' && !r.startsWith('..') && !isAbsolute(r) ? r : abs;
}

/** Loads the variant files (paths relative to `baseDir`) that are not loaded yet; returns their keys. */
export async function loadVariants(files: readonly string[], baseDir: string): Promise<string[]> {
  const keys: string[] = [];
  for (const f of files) {
    const abs = variantKey(f, baseDir);
    keys.push(abs);
    if (loaded.has(abs)) continue;
    loaded.set(abs, await loadOne(abs));
  }
  return keys;
}

/** The loaded variants under these keys, in order (each must have been loaded by loadVariants). */
export function variantsAt(keys: readonly string[]): LoadedVariant[] {
  return keys.map((k) => {
    const l = loaded.get(k);
    if (l === undefined) throw new Error(`variant ${k} was not loaded (loadVariants first)`);
    return l;
  });
}

async function loadOne(abs: string): Promise<LoadedVariant> {
  const file = shown(abs);
  if (!existsSync(abs)) throw new VariantError(file, '', 'no such file');
  const ext = extname(abs);
  if (!['.ts', '.mts', '.cts', '.js', '.mjs', '.cjs'].includes(ext))
    throw new VariantError(file, '', `expected a .ts, .mts, .js or .mjs module, got ${JSON.stringify(ext)}`);
  const code = await compile(abs, file);
  const mod = evaluate(abs, file, code);
  const v = (mod as { default?: unknown }).default;
  if (v === undefined)
    throw new VariantError(file, '', 'no default export: write `export default defineVariant({ … })`');
  checkVariant(file, v);
  const name = typeof v.name === 'string' && v.name !== '' ? v.name : basename(abs, ext);
  return { file, name, variant: v };
}

/** Runs the compiled module: `require('kvmsim')` is this kvmsim's variant API, anything else node's. */
function evaluate(abs: string, file: string, code: string): unknown {
  const nodeRequire = createRequire(abs);
  const req = (id: string): unknown => (id === 'kvmsim' ? kvmsimApi : nodeRequire(id));
  const module = { exports: {} as unknown };
  try {
    const fn = compileFunction(code, ['module', 'exports', 'require'], { filename: abs });
    fn(module, module.exports, req);
  } catch (e) {
    throw new VariantError(file, 'module', thrownText(e), e);
  }
  return module.exports;
}

async function compile(abs: string, file: string): Promise<string> {
  const esbuild = await import('esbuild');
  try {
    const r = await esbuild.build({
      entryPoints: [abs],
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      logLevel: 'silent',
      sourcemap: 'inline',
      external: ['kvmsim'],
    });
    return r.outputFiles[0]!.text;
  } catch (e) {
    const first = (e as { errors?: { text: string; location?: { line: number; column: number } | null }[] })
      .errors?.[0];
    if (first !== undefined) {
      const at = first.location ? ` (at ${file}:${first.location.line}:${first.location.column + 1})` : '';
      throw new VariantError(file, 'module', `does not compile: ${first.text}${at}`);
    }
    throw new VariantError(file, 'module', thrownText(e), e);
  }
}

/** The shape a variant must have; what is wrong is named with the nearest known name. */
function checkVariant(file: string, v: unknown): asserts v is Variant {
  if (typeof v !== 'object' || v === null)
    throw new VariantError(
      file,
      '',
      `the default export must be a variant object, got ${v === null ? 'null' : typeof v}`,
    );
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o))
    if (!(TOP_KEYS as readonly string[]).includes(k)) {
      const n = nearest(k, TOP_KEYS);
      throw new VariantError(
        file,
        k,
        `unknown hook${n === null ? '' : ` (did you mean ${n}?)`}; allowed: ${TOP_KEYS.join(', ')}`,
      );
    }
  for (const k of ['name', 'description'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'string')
      throw new VariantError(file, k, `must be a string, got ${typeof o[k]}`);
  for (const k of ['host', 'guest'] as const)
    if (o[k] !== undefined && typeof o[k] !== 'function')
      throw new VariantError(file, k, `must be a function (behaviour) => behaviour, got ${typeof o[k]}`);
  if (o.kernel !== undefined) {
    if (typeof o.kernel !== 'object' || o.kernel === null)
      throw new VariantError(file, 'kernel', 'must be an object of kernel functions');
    for (const [k, f] of Object.entries(o.kernel)) {
      if (!(X86_KERNEL_FN_NAMES as readonly string[]).includes(k)) {
        const n = nearest(k, X86_KERNEL_FN_NAMES);
        throw new VariantError(
          file,
          `kernel.${k}`,
          `not a kernel function kvmsim models${n === null ? '' : ` (did you mean ${n}?)`}; see docs/variants.md for the list`,
        );
      }
      if (typeof f !== 'function')
        throw new VariantError(
          file,
          `kernel.${k}`,
          `must be a function (orig) => replacement, got ${typeof f}`,
        );
    }
  }
  if (o.state !== undefined) {
    const s = o.state as Record<string, unknown>;
    if (typeof s !== 'object' || s === null)
      throw new VariantError(file, 'state', 'must be { vcpu: { field: bits } }');
    for (const k of Object.keys(s))
      if (k !== 'vcpu') throw new VariantError(file, `state.${k}`, 'unknown (allowed: vcpu)');
    for (const [f, bits] of Object.entries((s.vcpu ?? {}) as Record<string, unknown>))
      if (typeof bits !== 'number' || !Number.isInteger(bits) || bits < 1 || bits > 31)
        throw new VariantError(
          file,
          `state.vcpu.${f}`,
          `must be a width in bits, 1 to 31, got ${JSON.stringify(bits)}`,
        );
  }
  if (o.properties !== undefined) {
    if (!Array.isArray(o.properties)) throw new VariantError(file, 'properties', 'must be an array');
    o.properties.forEach((p: unknown, i: number) => {
      const q = p as Record<string, unknown> | null;
      if (
        typeof q !== 'object' ||
        q === null ||
        typeof q.name !== 'string' ||
        !/^[a-z0-9][a-z0-9-]*$/.test(q.name)
      )
        throw new VariantError(
          file,
          `properties[${i}]`,
          'needs a name of lower-case letters, digits and dashes',
        );
      if (typeof q.check !== 'function')
        throw new VariantError(file, `properties[${i}].check`, 'must be a function (view) => string | null');
    });
  }
}

/**
 * Loads a scenario's variants (`fromScenario`, relative to the scenario file's folder) and the command
 * line's (`fromFlags`, relative to the working directory), and returns the list the model looks them up
 * by (variantSet): the same files as paths relative to the working directory, so that every thread of
 * the process and every output names them alike.
 */
export async function resolveVariants(
  fromScenario: readonly string[],
  scenarioFile: string | null,
  fromFlags: readonly string[] = [],
): Promise<string[]> {
  const base = scenarioFile === null ? process.cwd() : dirname(resolve(scenarioFile));
  const keys = [
    ...(await loadVariants(fromScenario, base)),
    ...(await loadVariants(fromFlags, process.cwd())),
  ];
  return keys.map(shown);
}
