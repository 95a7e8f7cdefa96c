// Reading a scenario file: YAML (or JSON, which YAML accepts) into plain data, then validation by zod.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import type { z } from 'zod';
import { ScenarioError } from './scenario_error.ts';

/**
 * Reads and parses a YAML/JSON scenario file. Unreadable or malformed files become a ScenarioError.
 * With `bigint`, every integer literal is read as a bigint, so 64-bit values such as MSR data survive.
 */
export function readScenarioFile(file: string, opts: { bigint?: boolean } = {}): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ScenarioError(file, '', `cannot read the file (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  try {
    return parse(text, { prettyErrors: false, uniqueKeys: true, intAsBigInt: opts.bigint ?? false });
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    throw new ScenarioError(file, '', `not valid YAML: ${msg}`);
  }
}

/** Validates `raw` against `schema`; the first issue becomes a one-line ScenarioError. */
export function validateScenario<S extends z.ZodType>(file: string, raw: unknown, schema: S): z.output<S> {
  const r = schema.safeParse(raw);
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
