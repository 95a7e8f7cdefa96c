// The normalized transcript of a script run: one record per op result and per guest-visible event, in
// order. The model backend and the real-KVM backend both produce it; `kvmsim diff` compares it.
// Values are hex strings ("0x3009"); nothing in it depends on timing. The record types are defined
// beside the guests that produce them (src/guest/x86/records.ts) and re-exported here.

import type { TranscriptRecord } from '../guest/x86/records.ts';

export type {
  DummiesRecord,
  EventRecord,
  KvmStatRecord,
  MapsRecord,
  OpRecord,
  TaskRecord,
  TraceRecord,
  TranscriptRecord,
  UffdRecord,
} from '../guest/x86/records.ts';
export { hex } from '../guest/x86/records.ts';

/** One JSON object per line, keys in insertion order. */
export function formatJsonLines(records: readonly TranscriptRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

/** An aligned, human-readable table: op/event column, then key=value pairs. */
export function formatTable(records: readonly TranscriptRecord[]): string {
  const rows = records.map((r): [string, string] => {
    if ('op' in r) {
      const { op: _op, kind: _kind, vcpu: _vcpu, result, value, ...mm } = r;
      const rest = [result, value ?? '', ...Object.entries(mm).map(([k, v]) => `${k}=${String(v)}`)]
        .filter(Boolean)
        .join('  ');
      return [`${String(r.op).padStart(3)} ${r.kind}${r.vcpu === undefined ? '' : `@${r.vcpu}`}`, rest];
    }
    if ('task' in r) {
      const { task, vcpu, ...fields } = r;
      const rest = Object.entries(fields).map(([k, v]) => (k === 'result' ? String(v) : `${k}=${String(v)}`));
      return [`task ${task}${vcpu === undefined ? '' : `@${vcpu}`}`, rest.join('  ')];
    }
    const { event, trace, dummies, kvm_stat, uffd, maps, ...fields } = r as Record<string, unknown>;
    const label =
      event !== undefined
        ? `    ${String(event)}`
        : dummies !== undefined
          ? 'dummies'
          : kvm_stat !== undefined
            ? `kvm_stat ${String(kvm_stat)}`
            : uffd !== undefined
              ? `    uffd ${String(uffd)}`
              : maps !== undefined
                ? `maps ${String(maps)}`
                : `    trace ${String(trace)}`;
    return [
      label,
      Object.entries(fields)
        .map(([k, v]) => (k === 'text' ? String(v) : `${k}=${String(v)}`))
        .join(' '),
    ];
  });
  const w = Math.max(0, ...rows.map(([a]) => a.length));
  return rows.map(([a, b]) => `${a.padEnd(w)}  ${b}`.trimEnd()).join('\n') + (rows.length ? '\n' : '');
}
