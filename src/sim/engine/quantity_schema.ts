// zod schemas for scenario quantities: durations (to ns) and sizes (to bytes), built on src/scenario/units.ts.
//
// Each is `z.unknown()` plus a transform rather than a union of string and number, so a bad value yields
// exactly one issue at the field's own path with units.ts's descriptive message (a zod union would report
// "Invalid input" at the top and lose both).

import { z } from 'zod';
import {
  DURATION_JSON_SCHEMA,
  type ParseResult,
  parseDuration,
  parseSize,
  SIZE_JSON_SCHEMA,
} from '../../scenario/units.ts';

/** A schema that runs `parse` and reports its error as one custom issue at the current path. */
export function quantitySchema(parse: (input: unknown) => ParseResult) {
  return z.unknown().transform((input, ctx): number => {
    const r = parse(input);
    if (r.ok) return r.value;
    ctx.issues.push({ code: 'custom', message: r.error, input });
    return z.NEVER;
  });
}

/** A duration: "10us", "2ms", "1.5s", "250ns" (a unit is required; 0 needs none). Output: ns. */
export const durationSchema = quantitySchema(parseDuration).meta(DURATION_JSON_SCHEMA);

/** A size: "64KiB", "4K", "16GiB", "4096B" (a unit is required; 0 needs none). Output: bytes (an integer). */
export const sizeSchema = quantitySchema(parseSize).meta(SIZE_JSON_SCHEMA);
