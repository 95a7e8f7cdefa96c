// Comparing two transcripts (model vs kernel): the first divergence, with context.
import type { TranscriptRecord } from './transcript.ts';

export interface TranscriptDiff {
  /** Index of the first record that differs, or -1 when the transcripts agree. */
  index: number;
  left: TranscriptRecord | undefined;
  right: TranscriptRecord | undefined;
}

/**
 * What both backends can observe: ops and guest events. Tracepoints and host WARNs are model-only (the
 * kernel warns once per boot and its trace is not captured), and a real run stops at its first hang, so
 * the model's transcript is cut after its first hang too.
 */
export function comparable(records: readonly TranscriptRecord[]): TranscriptRecord[] {
  const out: TranscriptRecord[] = [];
  for (const r of records) {
    if ('trace' in r) continue;
    if ('event' in r && r.event === 'host_warning') continue;
    out.push(r);
    if ('op' in r && r.result === 'hang') break;
  }
  return out;
}

/** A record as JSON with its keys sorted, so field order alone never makes two records differ. */
const canonical = (r: TranscriptRecord | undefined): string =>
  r === undefined
    ? ''
    : JSON.stringify(Object.fromEntries(Object.entries(r).sort(([x], [y]) => (x < y ? -1 : 1))));

export function diffTranscripts(
  a: readonly TranscriptRecord[],
  b: readonly TranscriptRecord[],
): TranscriptDiff {
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (canonical(a[i]) !== canonical(b[i])) return { index: i, left: a[i], right: b[i] };
  }
  return { index: -1, left: undefined, right: undefined };
}
