// Reading a scenario file: YAML (or JSON, which YAML accepts) into plain data, then validation by zod.
import { closeSync, openSync, readSync } from 'node:fs';
import { type Document, isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ScenarioError } from './scenario_error.ts';
import { show } from './values.ts';

/** Largest input file kvmsim reads (scenarios, saved counterexamples): 16 MiB. */
export const MAX_INPUT_BYTES = 16 * 2 ** 20;

/**
 * Reads an input file as UTF-8 text: at most MAX_INPUT_BYTES (a device such as /dev/zero never ends), and
 * valid UTF-8 only (a binary or Latin-1 file is refused rather than read with replacement characters).
 * Failures are one-line ScenarioErrors naming the file.
 */
export function readInputText(file: string): string {
  const fail = (why: string): never => {
    throw new ScenarioError(file, '', why);
  };
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  try {
    for (;;) {
      const buf = Buffer.allocUnsafe(Math.min(1 << 20, MAX_INPUT_BYTES + 1 - total));
      const n = readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
      total += n;
      if (total > MAX_INPUT_BYTES) fail(`larger than ${MAX_INPUT_BYTES / 2 ** 20} MiB; not a scenario file`);
    }
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    fail(`cannot read the file (${(e as NodeJS.ErrnoException).code ?? e})`);
  } finally {
    closeSync(fd);
  }
  const bytes = Buffer.concat(chunks, total);
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    let i = 0;
    // The offset of the first bad byte, for the message.
    for (let lo = 0, hi = bytes.length; lo < hi; ) {
      const mid = (lo + hi) >> 1;
      try {
        new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, mid));
        i = mid;
        lo = mid + 1;
      } catch {
        hi = mid;
      }
    }
    return fail(`not UTF-8 text (an invalid byte near offset ${i}); save the file as UTF-8`);
  }
}

/**
 * Reads and parses a YAML/JSON scenario file. Unreadable or malformed files become a ScenarioError, and
 * so does anything the YAML parser only warns about (an unknown tag such as `!foo`), since it would
 * otherwise be read as something the author did not write.
 * With `bigint`, every integer literal is read as a bigint, so 64-bit values such as MSR data survive.
 */
export function readScenarioFile(file: string, opts: { bigint?: boolean } = {}): unknown {
  const text = readInputText(file);
  const first = (e: { message: string }) =>
    e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
  const lineCounter = new LineCounter();
  const pos = (e: { pos?: [number, number] }) => (e.pos ? lineCounter.linePos(e.pos[0]) : undefined);
  try {
    const doc = parseDocument(text, {
      prettyErrors: false,
      uniqueKeys: true,
      intAsBigInt: opts.bigint ?? false,
      logLevel: 'silent',
      lineCounter,
    });
    if (doc.contents === null)
      throw new ScenarioError(
        file,
        '',
        'the file is empty; expected a mapping such as `kind: script` and its fields',
      );
    if (doc.errors.length > 0)
      throw new ScenarioError(file, '', `not valid YAML: ${first(doc.errors[0]!)}`, pos(doc.errors[0]!));
    if (doc.warnings.length > 0)
      throw new ScenarioError(file, '', `not valid YAML: ${first(doc.warnings[0]!)}`, pos(doc.warnings[0]!));
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    if (isRecursive(data))
      throw new ScenarioError(
        file,
        '',
        'not valid here: a recursive alias (an anchor used inside its own value); a scenario is a tree',
      );
    if (data !== null && typeof data === 'object') sources.set(data, { doc, lineCounter });
    return data;
  } catch (e) {
    if (e instanceof ScenarioError) throw e;
    throw new ScenarioError(file, '', `not valid YAML: ${first(e as Error)}`);
  }
}

/**
 * Whether `data` contains itself (YAML allows `&a [*a]`, which becomes a circular JS value that JSON, zod's
 * messages and the counterexample writer cannot handle). Iterative, so deep nesting cannot overflow.
 */
function isRecursive(data: unknown): boolean {
  // Depth-first with an explicit stack: entering pushes [value, children left]; the path holds ancestors.
  const onPath = new Set<object>();
  const stack: Array<{ v: object; kids: unknown[] }> = [];
  const enter = (v: unknown): boolean => {
    if (v === null || typeof v !== 'object') return false;
    if (onPath.has(v)) return true;
    onPath.add(v);
    stack.push({
      v,
      kids: Array.isArray(v) ? [...v] : v instanceof Map ? [...v.values()] : Object.values(v),
    });
    return false;
  };
  if (enter(data)) return true;
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    if (top.kids.length === 0) {
      onPath.delete(top.v);
      stack.pop();
    } else if (enter(top.kids.pop())) return true;
  }
  return false;
}

/** The YAML document each parsed scenario came from, to name the line and column of an error. */
const sources = new WeakMap<object, { doc: Document; lineCounter: LineCounter }>();

/**
 * Where `path` is in the file `raw` was read from (line and column from 1): the key of a mapping entry
 * (an unknown field), else the value; the nearest existing ancestor when the path is missing. Null for data
 * that was not read by readScenarioFile.
 */
export function positionOf(
  raw: unknown,
  path: readonly PropertyKey[],
  key = false,
): { line: number; col: number } | null {
  if (raw === null || typeof raw !== 'object') return null;
  const src = sources.get(raw);
  if (!src) return null;
  const at = (offset: number) => src.lineCounter.linePos(offset);
  for (let n = path.length; n >= 0; n--) {
    const p = path.slice(0, n).map((k) => (typeof k === 'number' ? k : String(k)));
    if (key && n === path.length && n > 0) {
      const parent = p.length === 1 ? src.doc.contents : src.doc.getIn(p.slice(0, -1), true);
      const items = (parent as { items?: Array<{ key?: { value?: unknown; range?: number[] } }> } | null)
        ?.items;
      const pair = items?.find((it) => isNode(it.key) && String(it.key.value) === String(p[p.length - 1]));
      if (pair?.key?.range) return at(pair.key.range[0]!);
      continue;
    }
    const node = n === 0 ? src.doc.contents : src.doc.getIn(p, true);
    if (isNode(node) && node.range) return at(node.range[0]);
  }
  return null;
}

/** Levenshtein distance, for "did you mean". */
function distance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length]!;
}

/** The known field nearest to `name` (close enough to be a typo), or null. */
export function nearest(name: string, known: readonly string[]): string | null {
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : null;
}

/** The field names the object schema at `path` knows (following the data through unions), or []. */
function knownKeysAt(schema: z.core.$ZodType, data: unknown, path: readonly PropertyKey[]): string[] {
  const def = schema._zod.def as unknown as Record<string, unknown> & { type: string };
  switch (def.type) {
    case 'optional':
    case 'nullable':
    case 'default':
    case 'prefault':
    case 'readonly':
    case 'catch':
    case 'nonoptional':
      return knownKeysAt(def.innerType as z.core.$ZodType, data, path);
    case 'pipe':
      return knownKeysAt(def.in as z.core.$ZodType, data, path);
    case 'lazy':
      return knownKeysAt((def.getter as () => z.core.$ZodType)(), data, path);
    case 'object': {
      const shape = def.shape as Record<string, z.core.$ZodType>;
      if (path.length === 0) return Object.keys(shape);
      const next = shape[String(path[0])];
      const child =
        data !== null && typeof data === 'object'
          ? (data as Record<string, unknown>)[String(path[0])]
          : undefined;
      return next ? knownKeysAt(next, child, path.slice(1)) : [];
    }
    case 'array': {
      if (path.length === 0) return [];
      const child = Array.isArray(data) ? data[Number(path[0])] : undefined;
      return knownKeysAt(def.element as z.core.$ZodType, child, path.slice(1));
    }
    case 'union': {
      const options = def.options as z.core.$ZodType[];
      const disc = def.discriminator as string | undefined;
      // A discriminated union: the option whose literal the data names; else every object option.
      if (disc !== undefined && data !== null && typeof data === 'object') {
        const want = (data as Record<string, unknown>)[disc];
        for (const o of options) {
          const lit = (
            (o._zod.def as unknown as { shape?: Record<string, z.core.$ZodType> }).shape?.[disc]?._zod
              .def as unknown as { values?: unknown[] } | undefined
          )?.values;
          if (lit?.includes(want)) return knownKeysAt(o, data, path);
        }
      }
      return [...new Set(options.flatMap((o) => knownKeysAt(o, data, path)))];
    }
    default:
      return [];
  }
}

/** Validates `raw` against `schema`; the first issue becomes a one-line ScenarioError. */
export function validateScenario<S extends z.ZodType>(file: string, raw: unknown, schema: S): z.output<S> {
  const r = schema.safeParse(raw, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  if (issue.code === 'unrecognized_keys') {
    // Where the (first) unknown field is, and the known field it is closest to.
    const key = issue.keys[0]!;
    const known = knownKeysAt(schema, raw, issue.path);
    const hint = nearest(key, known);
    const full = [...issue.path, key];
    const at = positionOf(raw, full, true);
    throw new ScenarioError(
      file,
      field,
      `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}${hint ? `; did you mean \`${hint}\`?` : known.length > 0 ? `; known fields: ${known.join(', ')}` : ''}`,
      at ?? undefined,
    );
  }
  throw new ScenarioError(file, field, describeIssue(issue), positionOf(raw, issue.path) ?? undefined);
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type': {
      // zod's own wording ("received undefined") names JavaScript types; say what the file has.
      const input = (issue as { input?: unknown }).input;
      const what =
        issue.expected === 'object' ? 'a mapping' : issue.expected === 'array' ? 'a list' : issue.expected;
      return input === undefined ? `missing; expected ${what}` : `expected ${what}, got ${show(input)}`;
    }
    case 'too_small':
    case 'too_big': {
      const input = (issue as { input?: unknown }).input;
      return input === undefined ? issue.message : `${issue.message}, got ${show(input)}`;
    }
    case 'invalid_value':
      return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'unrecognized_keys':
      return `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')}`;
    case 'invalid_union':
      return issue.message && issue.message !== 'Invalid input'
        ? issue.message
        : 'not one of the allowed forms';
    default:
      return issue.message;
  }
}
