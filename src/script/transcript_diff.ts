// Comparing two transcripts (model vs kernel): the first divergence, with context.
import type { TranscriptRecord } from './transcript.ts';

export interface TranscriptDiff {
  /** Index of the first record that differs, or -1 when the transcripts agree. */
  index: number;
  left: TranscriptRecord | undefined;
  right: TranscriptRecord | undefined;
}

/**
 * Of a host memory operation's record (vm.mmu_notifiers), the field the kvm backend measures: `zapped`,
 * from KVM's `pages_4k` statistic. The invalidation and change_pte counts need the kernel's tracepoints
 * (test/oracle/notifier_counts_live.test.ts checks those), and no statistic tells which SPTEs are
 * present, so `mapped` is the model's alone; a refault after the op shows in kvm_stat `pf_taken`.
 */
const HOST_MM_OBSERVED = ['op', 'kind', 'vcpu', 'result', 'value', 'zapped'] as const;

/**
 * What both backends can observe: ops and guest events. Tracepoints and host WARNs are model-only (the
 * kernel warns once per boot and its trace is not captured), and a real run stops at its first hang, so
 * the model's transcript is cut after its first hang too. With vm.mmu_notifiers: the host memory ops
 * keep the fields above, the closing kvm_stat record its `pf_taken` (KVM's vCPU statistic; the kernel
 * has no stale-retry counter), and the kernel's userfaultfd records (`uffd`) are left out.
 */
export function comparable(records: readonly TranscriptRecord[]): TranscriptRecord[] {
  const out: TranscriptRecord[] = [];
  for (const r of records) {
    if ('trace' in r || 'uffd' in r) continue;
    if ('event' in r && r.event === 'host_warning') continue;
    if ('kvm_stat' in r) {
      out.push({ kvm_stat: r.kvm_stat, pf_taken: r.pf_taken });
      continue;
    }
    if ('op' in r && 'zapped' in r) {
      const kept = HOST_MM_OBSERVED.flatMap((k) => (r[k] === undefined ? [] : [[k, r[k]]]));
      out.push(Object.fromEntries(kept) as TranscriptRecord);
      continue;
    }
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
