// What happened during one step, seen from outside the protocol code: the host's HostHooks (tracepoints,
// WARNs, queued works, kicks, injections, page-ready sends), each reported by the host as data where it
// happens. Step checks (properties.ts) are decided here. Nothing in this file changes the model's state,
// reads state before and after a step to diff it, or wraps the guest.
import { DF_VECTOR } from '../../abi/kvm_host.ts';
import { TRIPLE_FAULT } from '../../host/x86/exception.ts';
import {
  MC_EV_BUG,
  MC_EV_EMPTY,
  MC_EV_OVER_MIN,
  MC_EV_SLEEP_UNDER_LOCK,
} from '../../host/x86/mmu_caches_vm.ts';
import { formatTracepoint, TRACEPOINT_NAMES } from '../../host/x86/trace.ts';
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import {
  type HostHooks,
  INJECT_EXCEPTION,
  INJECT_IRQ,
  type InjectKind,
  type KvmVm,
} from '../../host/x86/vm.ts';
import { hex } from './guest_adapter.ts';
import type { PropertyName } from './properties.ts';

/** A page-ready the host sent during the step (HostHooks.pageReadySent), checked when the step's events flush. */
interface PendingReady {
  vcpu: KvmVcpu;
  token: number;
  slotBefore: number;
  notify: boolean;
}

export class Observer {
  /** The first step-check failure of the current step, or null. */
  violation: PropertyName | null = null;
  /** Host WARNs, page-ready writes …, for counterexample rendering; null when not recording. */
  events: string[] | null = null;
  /** Works announced through asyncWorkQueued during the current step: [vcpu, slot]. */
  readonly queued: Array<[number, number]> = [];
  private pending: PendingReady | null = null;
  private monitor: InjectionMonitor | null = null;
  private readonly checks: ReadonlySet<PropertyName>;

  constructor(
    private readonly vm: () => KvmVm,
    checks: readonly PropertyName[],
  ) {
    this.checks = new Set(checks);
  }

  /** Starts a step. */
  begin(): void {
    this.violation = null;
    this.pending = null;
    this.queued.length = 0;
  }

  /** Ends a step; returns its first step-check failure. */
  end(): PropertyName | null {
    this.resolveReady();
    return this.violation;
  }

  fail(p: PropertyName): void {
    if (this.violation === null && this.checks.has(p)) this.violation = p;
  }

  /** The HostHooks of an explore world: observation only; the explorer finds works in the state. */
  hooks(): HostHooks {
    return {
      asyncWorkQueued: (vcpu, slot) => {
        this.queued.push([vcpu.vcpu_id, slot]);
        this.events?.push(`host: schedule_work(async_pf_execute) token=${hex(vcpu.async_pf.wToken[slot]!)}`);
      },
      syncFault: (vcpu, gfn) => {
        this.events?.push(`host vcpu${vcpu.vcpu_id}: synchronous fault-in of gfn ${hex(gfn)}`);
      },
      kick: (vcpu) => {
        this.events?.push(`host: kick vcpu${vcpu.vcpu_id}`);
      },
      trace: (v, tp, a, b) => this.trace(v, tp, a, b),
      warn: (vcpu, message) => {
        this.events?.push(`host vcpu${vcpu.vcpu_id}: WARN ${message}`);
        this.fail('no-host-warn');
      },
      injected: (vcpu, kind, vector) => this.injected(vcpu, kind, vector),
      memcacheEvent: (vcpu, ev, what) => this.memcache(vcpu, ev, what),
      kvmRunError: (vcpu, errno) => {
        this.events?.push(
          `host vcpu${vcpu.vcpu_id}: KVM_RUN returns ${errno} to the VMM, which stops the VM`,
        );
      },
      pageReadySent: (vcpu, token, slotBefore, notify) => {
        this.resolveReady();
        this.pending = { vcpu, token: token >>> 0, slotBefore, notify };
      },
    };
  }

  /** The memory-cache model's events (mmu_caches_vm.ts MC_EV_*; a WARN comes through `warn` as well). */
  private memcache(vcpu: KvmVcpu, ev: number, what: string): void {
    if (ev === MC_EV_EMPTY) this.fail('no-empty-cache-alloc');
    else if (ev === MC_EV_OVER_MIN) this.fail('topup-sufficient');
    else if (ev === MC_EV_SLEEP_UNDER_LOCK) this.fail('no-alloc-under-mmu-lock');
    if (ev !== 0) this.events?.push(`host vcpu${vcpu.vcpu_id}: ${ev === MC_EV_BUG ? 'BUG: ' : ''}${what}`);
  }

  private trace(v: number, tp: number, a: number, b: number): void {
    this.resolveReady();
    this.events?.push(`trace vcpu${v}: ${TRACEPOINT_NAMES[tp]}: ${formatTracepoint(tp, a, b)}`);
  }

  /** Reports and checks the page-ready the host sent, in the event order of the counterexample text. */
  private resolveReady(): void {
    const p = this.pending;
    if (p === null) return;
    this.pending = null;
    const legacy = this.vm().era.pageReady === 'pf';
    this.events?.push(`host vcpu${p.vcpu.vcpu_id}: page-ready sent, token ${hex(p.token)}`);
    if (p.token === 0) this.fail('no-token-zero');
    if (legacy) return;
    if (p.slotBefore !== 0) this.fail('no-busy-slot-write');
    if (!p.notify) this.fail('pageready-only-for-injected');
  }

  /** Who else watches injections (the bare adapter's token bookkeeping), set once the guest exists. */
  setMonitor(m: InjectionMonitor | null): void {
    this.monitor = m;
  }

  /** VM entry injects an event (HostHooks.injected), just before the guest receives it. */
  private injected(vcpu: KvmVcpu, kind: InjectKind, vector: number): void {
    const m = this.monitor;
    if (kind === INJECT_EXCEPTION) {
      if (vector === DF_VECTOR || vector === TRIPLE_FAULT) {
        this.events?.push(
          `guest vcpu${vcpu.vcpu_id}: ${vector === DF_VECTOR ? '#DF' : 'triple fault'} delivered`,
        );
        this.fail('no-double-fault');
      }
      m?.onException(vcpu, vector);
    } else if (kind === INJECT_IRQ) m?.onInterrupt(vcpu, vector);
    else m?.onNestedPfVmexit(vcpu, vector);
  }
}

/** What an injection monitor (the bare adapter) is told, before the guest model receives the event. */
export interface InjectionMonitor {
  onException(vcpu: KvmVcpu, vector: number): void;
  onInterrupt(vcpu: KvmVcpu, vector: number): void;
  onNestedPfVmexit(vcpu: KvmVcpu, addr: number): void;
}
