// The `expect:` block of an x86 script: what the transcript must show, so a script is a test (the s390
// scripts' `expect` op, src/script/s390_expect.ts, does the same for the GISA). Every entry is a record
// pattern, a mapping of transcript fields (docs/scenarios.md, "Transcript") to values; a record matches
// when each field in the pattern is present with an equal value. Numbers compare as integers, so
// `token: 0x1000` matches the transcript's "0x1000" and `vcpu: 0` also matches a single-vCPU record (which
// carries no vcpu field).
//
//   expect:
//     ops:     [{ op: 5, result: ok, value: 0x0 }]        # per-op results and values, by op index
//     events:  [{ event: irq, token: 0x1000 }, { event: ack }]   # these records, in this order
//     counts:  [{ event: irq, count: 1 }, { event: "#PF", vcpu: 1, count: 0 },
//               { event: "#PF", flags: 0x1, per_vcpu: [2, 1] }]       # the count on each vCPU
//     absent:  [{ event: irq, token: 0x0 }]               # no record matches
//
// A mismatch is reported as one line naming the entry (`expect.ops[0]`), the field, the expected and the
// actual value; checkX86Expect returns them all, in the order above.
import { z } from 'zod';
import { intIn, withInputSide } from '../scenario/values.ts';
import type { TranscriptRecord } from './transcript.ts';

/** The fields transcript records carry (src/guest/x86/records.ts); a pattern may name only these. */
export const RECORD_FIELDS = [
  // what a record is (exactly one per pattern)
  'op',
  'event',
  'task',
  'trace',
  'kvm_stat',
  'dummies',
  'maps',
  'uffd',
  // op records
  'kind',
  'vcpu',
  'result',
  'value',
  'errno',
  'invalidations',
  'zapped',
  'change_pte',
  'change_pte_spte',
  'mapped',
  'young',
  'ret',
  'map',
  'coherent',
  'dirty_logged',
  'moved',
  // events
  'vector',
  'token',
  'flags',
  'cr2',
  'error_code',
  'address',
  'reason',
  'message',
  'text',
  // tasks, dummies, kvm_stat, maps, uffd
  'wait',
  'created',
  'consumed',
  'leaked',
  'freed',
  'hashed',
  'pf_taken',
  'pf_retry_stale',
  'warns',
  'topups',
  'topup_failures',
  'topups_allocating',
  'max_objects_per_fault',
  'objects_allocated',
  'objects_freed',
  'empty_cache_allocs',
  'emergency_allocs',
  'page_tables',
  'idle_cache_bytes',
  'refs',
  'pins',
  'kunmap_of_remap',
  'freed_in_use',
  'dirty_log',
  'gpa',
] as const;
export const RECORD_KINDS = ['op', 'event', 'task', 'trace', 'kvm_stat', 'dummies', 'maps', 'uffd'] as const;

/** A value in a pattern: a string ("ok", "#PF", "-ENOMEM", "0x1000"), an integer or a boolean. */
const patternValue = z
  .union([z.string(), z.boolean(), z.bigint().nonnegative(), z.number().int().nonnegative()])
  .meta({
    description:
      'a transcript value: a string such as "ok" or "#PF", an integer (0x hex or decimal), a boolean',
  });

const fieldShape = Object.fromEntries(RECORD_FIELDS.map((f) => [f, patternValue.optional()])) as Record<
  (typeof RECORD_FIELDS)[number],
  z.ZodOptional<typeof patternValue>
>;

const pattern = z.strictObject(fieldShape).check((ctx) => {
  const kinds = RECORD_KINDS.filter((k) => ctx.value[k] !== undefined);
  if (kinds.length !== 1)
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `expected exactly one of ${RECORD_KINDS.join(', ')} (which record the pattern is about), got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`,
    });
});
const opPattern = z.strictObject({ ...fieldShape, op: intIn(0, 1 << 20) });
const oneKind = (ctx: { value: Record<string, unknown>; issues: unknown[] }): void => {
  const kinds = RECORD_KINDS.filter((k) => ctx.value[k] !== undefined);
  if (kinds.length !== 1)
    (ctx.issues as object[]).push({
      code: 'custom',
      input: ctx.value,
      message: `expected exactly one of ${RECORD_KINDS.join(', ')} besides count, got ${kinds.length === 0 ? 'none' : kinds.join(', ')}`,
    });
};
/**
 * A count entry: `count` (over all vCPUs, or the one `vcpu` names), or `per_vcpu`, the count on each vCPU
 * (vCPU 0 first, one entry per vCPU of the VM; no `vcpu` then). Parsed as one object with a check, so a
 * mistake gets a precise message; the JSON Schema publishes the two forms.
 */
const perVcpu = z
  .array(intIn(0, 1 << 30))
  .min(1)
  .max(64);
const { vcpu: _vcpu, ...fieldShapeNoVcpu } = fieldShape;
const countPattern = withInputSide(
  z
    .strictObject({ ...fieldShape, count: intIn(0, 1 << 30).optional(), per_vcpu: perVcpu.optional() })
    .check((ctx) => {
      oneKind(ctx);
      const { count, per_vcpu, vcpu } = ctx.value;
      if ((count === undefined) === (per_vcpu === undefined))
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message:
            'expected either count (all vCPUs, or the one `vcpu` names) or per_vcpu (a count for each vCPU)',
        });
      else if (per_vcpu !== undefined && vcpu !== undefined)
        ctx.issues.push({
          code: 'custom',
          input: ctx.value,
          message: 'per_vcpu gives every vCPU its count: drop `vcpu` (or use count with vcpu)',
        });
    }),
  z.union([
    z.strictObject({ ...fieldShape, count: intIn(0, 1 << 30) }),
    z.strictObject({ ...fieldShapeNoVcpu, per_vcpu: perVcpu }),
  ]),
);
type CountPattern = z.output<typeof countPattern>;

export const X86ExpectSchema = z
  .strictObject({
    /** Per-op results and values: each entry names an op by its index (`op: 5`) and the fields it must show. */
    ops: z.array(opPattern).optional(),
    /** Records that must appear in this order (other records may come between them). */
    events: z.array(pattern).optional(),
    /**
     * How many records match each pattern (`vcpu` filters by vCPU; a single-vCPU record counts as vCPU 0),
     * or with `per_vcpu` how many on each vCPU.
     */
    counts: z.array(countPattern).optional(),
    /** Patterns no record may match. */
    absent: z.array(pattern).optional(),
  })
  .meta({ description: 'what the transcript must show; a mismatch makes `kvmsim script` exit 1' });
export type X86Expect = z.output<typeof X86ExpectSchema>;

type Pattern = Readonly<Record<string, unknown>>;

export interface X86ExpectMismatch {
  /** Where in the expect block: `expect.ops[0]`, `expect.events[2]`, … */
  readonly at: string;
  /** One line: what was expected and what the transcript has. */
  readonly what: string;
}

const INT = /^(0x[0-9a-f]+|[0-9]+)$/i;
const asInt = (v: unknown): bigint | null =>
  typeof v === 'bigint'
    ? v
    : typeof v === 'number' && Number.isSafeInteger(v)
      ? BigInt(v)
      : typeof v === 'string' && INT.test(v)
        ? BigInt(v)
        : null;

/** Whether a record's value equals a pattern's: as integers when both are, else as text. */
export function sameValue(expected: unknown, actual: unknown): boolean {
  if (actual === undefined) return false;
  const a = asInt(expected);
  const b = asInt(actual);
  if (a !== null && b !== null) return a === b;
  return String(expected) === String(actual);
}

/** The record's value of `field`; a record without `vcpu` is on vCPU 0 (single-vCPU transcripts). */
function field(r: TranscriptRecord, key: string): unknown {
  const v = (r as unknown as Record<string, unknown>)[key];
  if (v === undefined && key === 'vcpu' && !('trace' in r) && !('uffd' in r)) return 0;
  return v;
}

function matches(p: Pattern, r: TranscriptRecord): boolean {
  for (const [k, v] of Object.entries(p)) {
    if (v === undefined || k === 'count' || k === 'per_vcpu') continue;
    if (!sameValue(v, field(r, k))) return false;
  }
  return true;
}

/** Fields the transcript writes in hex: an expected integer is shown the same way in messages. */
const HEX_FIELDS = new Set(['value', 'token', 'flags', 'cr2', 'error_code', 'vector', 'address', 'gpa']);

function showValue(field: string, v: unknown): string {
  if (HEX_FIELDS.has(field) && (typeof v === 'bigint' || typeof v === 'number')) return `0x${v.toString(16)}`;
  return String(v);
}

/** A pattern as the author wrote it, for messages: `{event: irq, token: 0x1000}`. */
export function showPattern(p: Pattern): string {
  const parts = Object.entries(p)
    .filter(([k, v]) => v !== undefined && k !== 'count' && k !== 'per_vcpu')
    .map(([k, v]) => `${k}: ${showValue(k, v)}`);
  return `{${parts.join(', ')}}`;
}

const showRecord = (r: TranscriptRecord | undefined): string =>
  r === undefined ? '(end)' : JSON.stringify(r);

/** Checks a transcript against an expect block; returns every mismatch (empty: the script passes). */
export function checkX86Expect(e: X86Expect, records: readonly TranscriptRecord[]): X86ExpectMismatch[] {
  const out: X86ExpectMismatch[] = [];
  (e.ops ?? []).forEach((p, i) => {
    const at = `expect.ops[${i}]`;
    const rec = records.find((r) => 'op' in r && 'kind' in r && r.op === p.op);
    if (rec === undefined) {
      out.push({ at, what: `op ${p.op}: no such op in the transcript (the script stopped before it?)` });
      return;
    }
    for (const [k, v] of Object.entries(p)) {
      if (v === undefined || k === 'op') continue;
      const actual = field(rec, k);
      if (!sameValue(v, actual))
        out.push({
          at,
          what: `op ${p.op} (${(rec as { kind: string }).kind}): ${k}: expected ${showValue(k, v)}, got ${actual === undefined ? '(absent)' : String(actual)}`,
        });
    }
  });
  let from = 0;
  for (const [i, p] of (e.events ?? []).entries()) {
    const k = records.findIndex((r, j) => j >= from && matches(p, r));
    if (k < 0) {
      out.push({
        at: `expect.events[${i}]`,
        what: `${showPattern(p)} not found ${from === 0 ? 'in the transcript' : `after record ${from - 1} ${showRecord(records[from - 1])}`}`,
      });
      break; // the later entries are ordered after this one: no point looking
    }
    from = k + 1;
  }
  (e.counts ?? []).forEach((p: CountPattern, i) => {
    if (p.per_vcpu !== undefined) {
      const want = p.per_vcpu;
      const got = want.map((_, v) => records.filter((r) => matches(p, r) && field(r, 'vcpu') === v).length);
      if (got.some((n, v) => n !== want[v]))
        out.push({
          at: `expect.counts[${i}]`,
          what: `${showPattern(p)}: per vCPU expected [${want.join(', ')}], got [${got.join(', ')}]`,
        });
      return;
    }
    const n = records.filter((r) => matches(p, r)).length;
    if (n !== p.count)
      out.push({ at: `expect.counts[${i}]`, what: `${showPattern(p)}: expected ${p.count}, got ${n}` });
  });
  (e.absent ?? []).forEach((p, i) => {
    const k = records.findIndex((r) => matches(p, r));
    if (k >= 0)
      out.push({
        at: `expect.absent[${i}]`,
        what: `${showPattern(p)} is present: record ${k} ${showRecord(records[k])}`,
      });
  });
  return out;
}

/** How many expectations a block states (for the per-file line of a suite). */
export function expectationCount(e: X86Expect | undefined): number {
  if (!e) return 0;
  return (e.ops?.length ?? 0) + (e.events?.length ?? 0) + (e.counts?.length ?? 0) + (e.absent?.length ?? 0);
}
