// Reading a scenario file: YAML (or JSON, which YAML accepts) into plain data, then validation by zod.
import { closeSync, openSync, readSync } from 'node:fs';
import { parseDocument } from 'yaml';
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
  const first = (e: { message: string }) => e.message.split('\n')[0];
  try {
    const doc = parseDocument(text, {
      prettyErrors: false,
      uniqueKeys: true,
      intAsBigInt: opts.bigint ?? false,
      logLevel: 'silent',
    });
    if (doc.contents === null)
      throw new ScenarioError(
        file,
        '',
        'the file is empty; expected a mapping such as `kind: script` and its fields',
      );
    if (doc.errors.length > 0) throw new ScenarioError(file, '', `not valid YAML: ${first(doc.errors[0]!)}`);
    if (doc.warnings.length > 0)
      throw new ScenarioError(file, '', `not valid YAML: ${first(doc.warnings[0]!)}`);
    const data: unknown = doc.toJS({ maxAliasCount: 100 });
    if (isRecursive(data))
      throw new ScenarioError(
        file,
        '',
        'not valid here: a recursive alias (an anchor used inside its own value); a scenario is a tree',
      );
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

/** Validates `raw` against `schema`; the first issue becomes a one-line ScenarioError. */
export function validateScenario<S extends z.ZodType>(file: string, raw: unknown, schema: S): z.output<S> {
  const r = schema.safeParse(raw, { reportInput: true });
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const field = issue.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
    .join('')
    .replace(/^\./, '');
  throw new ScenarioError(file, field, describeIssue(issue));
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
