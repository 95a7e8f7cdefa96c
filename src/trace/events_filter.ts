// `--events`: which tracepoints a trace records, named as tracefs's `set_event` names them — an event
// (`kvm_exit`), a glob (`kvm_async_pf*`, `kvm_*`), optionally with the subsystem (`kvm:kvm_msr`,
// `kvm:*`), several separated by commas or spaces. The default is the events kvmsim has always traced:
// the async-PF ones and the MMU-notifier ones, so a trace without --events is what it was before the
// exit, injection and MSR events existed; `--events 'kvm:*'` adds those.
import { MMU_TRACEPOINT_NAMES } from '../host/x86/mmu_notifier.ts';
import { ALL_TRACEPOINT_NAMES, KVM_EVENT_NAMES, TRACEPOINT_NAMES } from '../host/x86/trace.ts';
import { UsageError } from '../scenario/usage_error.ts';

/** Every event a trace can hold, in the kvm subsystem. */
export const KNOWN_EVENTS: readonly string[] = [...ALL_TRACEPOINT_NAMES, ...MMU_TRACEPOINT_NAMES];

/** What a trace records without --events. */
export const DEFAULT_EVENTS =
  'kvm_try_async_get_page,kvm_async_pf*,kvm_unmap_hva_range,kvm_set_spte_hva,kvm_age_hva,kvm_test_age_hva';

export class EventFilter {
  private readonly on: ReadonlySet<string>;

  constructor(names: Iterable<string>) {
    this.on = new Set(names);
  }

  /** Whether the event named `name` is recorded. */
  has(name: string): boolean {
    return this.on.has(name);
  }

  /** Whether any exit/injection/MSR event (HostHooks.kvmTrace) is on. */
  get anyKvmEvent(): boolean {
    return KVM_EVENT_NAMES.some((n) => this.on.has(n));
  }

  /** Per TP_* id (host/x86/trace.ts), whether it is on. */
  byTracepoint(): boolean[] {
    return ALL_TRACEPOINT_NAMES.map((n) => this.on.has(n));
  }

  /** Whether all of the async-PF tracepoints are on (what the model's transcript and counters read). */
  get allAsyncPf(): boolean {
    return TRACEPOINT_NAMES.every((n) => this.on.has(n));
  }
}

const globRe = (g: string): RegExp =>
  new RegExp(
    `^${g
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
  );

/**
 * The filter `spec` names. `flag` names the option in the error: a pattern that names no event, or a
 * subsystem other than kvm, is a usage error listing what exists.
 */
export function parseEvents(flag: string, spec: string = DEFAULT_EVENTS): EventFilter {
  const on = new Set<string>();
  const patterns = spec.split(/[\s,]+/).filter((p) => p !== '');
  if (patterns.length === 0) throw new UsageError(`${flag}: no event named (e.g. kvm_exit, 'kvm:*')`);
  for (const p of patterns) {
    const colon = p.indexOf(':');
    const sys = colon >= 0 ? p.slice(0, colon) : null;
    const ev = colon >= 0 ? p.slice(colon + 1) : p;
    if (sys !== null && !globRe(sys).test('kvm'))
      throw new UsageError(`${flag}: ${JSON.stringify(p)}: the only subsystem is kvm`);
    const re = globRe(ev);
    const hits = KNOWN_EVENTS.filter((n) => re.test(n));
    if (hits.length === 0)
      throw new UsageError(
        `${flag}: ${JSON.stringify(p)} names no event; the events are ${KNOWN_EVENTS.join(', ')}`,
      );
    for (const h of hits) on.add(h);
  }
  return new EventFilter(on);
}
