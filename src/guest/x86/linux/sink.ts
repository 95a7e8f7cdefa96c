// Guest-visible events, reported as they happen. The sink takes numbers, so a run with a sink formats
// only what it keeps, and a run without one (sink = null) allocates nothing. `transcriptSink` turns the
// calls into the EventRecords of src/script/transcript.ts, with the same observation points as the bare
// test guest: #PF and irq report the shared area as it is at delivery.
import { type EventRecord, hex } from '../records.ts';

export interface GuestEventSink {
  /** A #PF was delivered. `flags` is this CPU's apf_reason.flags at delivery, -1 when APF is off. */
  pageFault(cpu: number, cr2: number, errorCode: number, flags: number): void;
  /** An interrupt was delivered. `token`/`flags`: this CPU's apf_reason at delivery, -1 when APF is off. */
  irq(cpu: number, vector: number, token: number, flags: number): void;
  /** The page-ready handler wrote MSR_KVM_ASYNC_PF_ACK; `ok` is false when the WRMSR raised #GP. */
  ack(cpu: number, value: number, ok: boolean): void;
  /** panic(): the guest is dead. */
  panic(cpu: number, reason: string): void;
  /** WARN / pr_warn. */
  warning(cpu: number, message: string): void;
}

/**
 * Appends EventRecords to `out`. With `multiVcpu`, `vcpu` is added as the last key, as the bare guest and
 * the script runner do (JSON-lines transcripts compare key order).
 */
export function transcriptSink(out: { push(rec: EventRecord): unknown }, multiVcpu = false): GuestEventSink {
  const push = (cpu: number, rec: EventRecord): void => {
    out.push(multiVcpu ? ({ ...rec, vcpu: cpu } as EventRecord) : rec);
  };
  return {
    pageFault(cpu, cr2, errorCode, flags) {
      push(cpu, {
        event: '#PF',
        cr2: hex(cr2 >>> 0),
        error_code: hex(errorCode),
        ...(flags >= 0 ? { flags: hex(flags) } : {}),
      });
    },
    irq(cpu, vector, token, flags) {
      push(cpu, {
        event: 'irq',
        vector: hex(vector),
        ...(token >= 0 ? { token: hex(token) } : {}),
        ...(flags >= 0 ? { flags: hex(flags) } : {}),
      });
    },
    ack(cpu, value, ok) {
      push(cpu, { event: 'ack', value: hex(value), result: ok ? 'ok' : '#GP' });
    },
    panic(cpu, reason) {
      push(cpu, { event: 'guest_panic', reason });
    },
    warning(cpu, message) {
      push(cpu, { event: 'warning', message });
    },
  };
}
