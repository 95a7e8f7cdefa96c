// The normalized transcript of a script run: one record per op result and per guest-visible event, in
// order. The model backend and the real-KVM backend both produce it; `kvmsim diff` compares it.
// Values are hex strings ("0x3009"); nothing in it depends on timing.

/** The outcome of one script op. `result` is "ok", "#GP" (guest access faulted), "rejected" (a host
 * KVM_SET_MSRS/KVM_GET_MSRS processed 0 MSRs) or "hang" (the op can never complete). */
export interface OpRecord {
  op: number;
  kind: string;
  vcpu?: number;
  result: 'ok' | '#GP' | 'rejected' | 'hang';
  value?: string;
}

/** Something the guest saw or did on its own (handlers), or a guest crash. */
export type EventRecord =
  | { event: 'irq'; vcpu?: number; vector: string; token?: string; flags?: string }
  | { event: '#PF'; vcpu?: number; cr2: string; error_code: string; flags?: string }
  | { event: 'ack'; vcpu?: number; value: string; result: 'ok' | '#GP' }
  | { event: 'pf_vmexit'; vcpu?: number; address: string; flags?: string }
  | { event: 'exception'; vcpu?: number; vector: string; error_code: string }
  | { event: 'shutdown'; vcpu?: number; reason: string }
  | { event: 'guest_panic'; vcpu?: number; reason: string }
  | { event: 'warning'; vcpu?: number; message: string }
  | { event: 'host_warning'; vcpu?: number; message: string };

/** A kernel tracepoint, only with --trace-events: the name and its printk text (x86-apf §7). */
export interface TraceRecord {
  trace: string;
  vcpu?: number;
  text: string;
}

/**
 * Scripts with a Linux guest: how each task ended, after the last op. `finished` (it ran off its
 * program), `hung` (it waits for a 'page ready' that never came: `token`, and `wait: "halt"` for a legacy
 * halted wait), or `unfinished` (still runnable when the script ended: a panic, a spinning vCPU, or ops
 * that never ran it).
 */
export interface TaskRecord {
  task: number;
  vcpu?: number;
  result: 'finished' | 'hung' | 'unfinished';
  token?: string;
  wait?: 'halt';
}

/**
 * Scripts with a Linux guest: the sleep table's dummy entries at the end. `created` by wakes that found
 * no waiter, `consumed` by the fault they stood for, `leaked` (unlinked by a wake without being freed,
 * x86-apf §9 item 6), `freed` (unlinked and freed by the hypothetical fixed wake-all), `hashed` (still in
 * the table: never consumed).
 */
export interface DummiesRecord {
  dummies: 'sleep_table';
  created: number;
  consumed: number;
  leaked: number;
  freed: number;
  hashed: number;
}

export type TranscriptRecord = OpRecord | EventRecord | TraceRecord | TaskRecord | DummiesRecord;

export const hex = (v: number | bigint): string => `0x${v.toString(16)}`;

/** One JSON object per line, keys in insertion order. */
export function formatJsonLines(records: readonly TranscriptRecord[]): string {
  return records.map((r) => JSON.stringify(r)).join('\n') + (records.length ? '\n' : '');
}

/** An aligned, human-readable table: op/event column, then key=value pairs. */
export function formatTable(records: readonly TranscriptRecord[]): string {
  const rows = records.map((r): [string, string] => {
    if ('op' in r) {
      const rest = [r.result, r.value === undefined ? '' : r.value].filter(Boolean).join('  ');
      return [`${String(r.op).padStart(3)} ${r.kind}${r.vcpu === undefined ? '' : `@${r.vcpu}`}`, rest];
    }
    if ('task' in r) {
      const { task, vcpu, ...fields } = r;
      const rest = Object.entries(fields).map(([k, v]) => (k === 'result' ? String(v) : `${k}=${String(v)}`));
      return [`task ${task}${vcpu === undefined ? '' : `@${vcpu}`}`, rest.join('  ')];
    }
    const { event, trace, dummies, ...fields } = r as Record<string, unknown>;
    const label =
      event !== undefined
        ? `    ${String(event)}`
        : dummies !== undefined
          ? 'dummies'
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
