// The model backend of `kind: script`: builds a VM from the scenario, drives the bare test guest op by
// op through the host run loop, and runs async workers and synchronous fault-ins at the virtual time
// their backing delay says. The transcript has no times in it; the ftrace output does.
import { KVM_MP_STATE_RUNNABLE } from '../abi/kvm_host.ts';
import { BareGuest } from '../guest/x86/bare/bare_guest.ts';
import { async_pf_execute } from '../host/x86/async_pf.ts';
import { workPending } from '../host/x86/async_pf_work.ts';
import { bugSet } from '../host/x86/bugs.ts';
import { hostBehaviour } from '../host/x86/era.ts';
import { kvm_sync_fault_done } from '../host/x86/mmu_fault.ts';
import { kvm_vcpu_run_step, STEP_BLOCKED, STEP_IDLE } from '../host/x86/run_loop.ts';
import { formatTracepoint, TP_KVM_ASYNC_PF_COMPLETED, TRACEPOINT_NAMES } from '../host/x86/trace.ts';
import { type KvmVcpu, OUTSIDE_GUEST_MODE } from '../host/x86/vcpu.ts';
import { createVm, type KvmVm } from '../host/x86/vm.ts';
import { kvm_get_msr_host_initiated, kvm_set_msr_host_initiated } from '../host/x86/x86.ts';
import { formatFtraceLine } from '../trace/ftrace.ts';
import type { Op, Script } from './schema.ts';
import { hex, type TranscriptRecord } from './transcript.ts';
import { parseDurationNs } from './units.ts';

export interface RunOptions {
  /** Put tracepoints in the transcript. */
  traceEvents?: boolean;
  /** Collect ftrace-format lines. */
  ftrace?: boolean;
  /** Guest instructions one op may take before it is declared hung (HLT spinning, lost wakeups). */
  stepBudget?: number;
}

export interface RunResult {
  records: TranscriptRecord[];
  ftrace: string[];
}

interface Timed {
  t: number;
  seq: number;
  kind: 'work' | 'sync';
  vcpu: number;
  slot: number;
  gen: number;
}

/** Runs a validated script on the model and returns its transcript. */
export function runScript(script: Script, opts: RunOptions = {}): RunResult {
  return new ScriptRun(script, opts).run();
}

class ScriptRun {
  private readonly records: TranscriptRecord[] = [];
  private readonly ftrace: string[] = [];
  private readonly vm: KvmVm;
  private readonly guest: BareGuest;
  private readonly timeline: Timed[] = [];
  private readonly delays = new Map<number, number>();
  private readonly warned = new Set<string>();
  private now = 0;
  private seq = 0;
  private readonly multi: boolean;
  private readonly budget: number;

  constructor(
    private readonly script: Script,
    private readonly opts: RunOptions,
  ) {
    const c = script.vm;
    this.multi = c.vcpus > 1;
    this.budget = opts.stepBudget ?? 100_000;
    this.vm = createVm(hostBehaviour(script.era, bugSet(script.bugs), c.pv_msr_unsupported), {
      irqchip: c.irqchip,
      enforce_pv_cpuid: c.enforce_pv_cpuid,
      kvm_features: c.kvm_features,
      hlt_in_guest: c.hlt_in_guest,
      guest_state_protected: c.protected_state,
      tdp: c.mmu === 'tdp',
      memory: c.memory,
      vcpus: c.vcpus,
    });
    this.vm.hooks = {
      asyncWorkQueued: (vcpu, slot) =>
        this.schedule('work', vcpu, slot, vcpu.async_pf.wGen[slot]!, vcpu.async_pf.wGfn[slot]!),
      syncFault: (vcpu, gfn) => this.schedule('sync', vcpu, -1, 0, gfn),
      kick: () => {},
      warn: (vcpu, message) => {
        // WARN_ON_ONCE: one splat per call site.
        if (this.warned.has(message)) return;
        this.warned.add(message);
        this.records.push({ event: 'host_warning', ...(this.multi ? { vcpu: vcpu.vcpu_id } : {}), message });
      },
      trace: opts.traceEvents || opts.ftrace ? (v, tp, a, b) => this.trace(v, tp, a, b) : null,
    };
    this.guest = new BareGuest(
      this.vm,
      script.handlers,
      {
        op: (r) => this.records.push(r),
        event: (r) => this.records.push(r),
      },
      this.multi,
      script.bugs.includes('ack-before-clear'),
    );
    this.vm.guest = this.guest;
    for (const v of this.vm.vcpus) {
      v.cr0_pg = c.guest_mode === 'long';
      v.in_userspace = true;
    }
  }

  run(): RunResult {
    for (const [i, op] of this.script.ops.entries()) this.runOp(op, i);
    return { records: this.records, ftrace: this.ftrace };
  }

  private schedule(kind: Timed['kind'], vcpu: KvmVcpu, slot: number, gen: number, gfn: number): void {
    const t = this.now + (this.delays.get(gfn) ?? 0);
    this.timeline.push({ t, seq: this.seq++, kind, vcpu: vcpu.vcpu_id, slot, gen });
    this.timeline.sort((a, b) => a.t - b.t || a.seq - b.seq);
  }

  /** Fires timed events due by `now`. */
  private fireDue(): void {
    while (this.timeline.length > 0 && this.timeline[0]!.t <= this.now) this.fire(this.timeline.shift()!);
  }

  /** Advances time to the next timed event and fires it; false when there is none. */
  private advance(): boolean {
    const e = this.timeline.shift();
    if (e === undefined) return false;
    this.now = Math.max(this.now, e.t);
    this.fire(e);
    return true;
  }

  private fire(e: Timed): void {
    const vcpu = this.vm.vcpus[e.vcpu]!;
    if (e.kind === 'work') {
      if (workPending(vcpu.async_pf, e.slot, e.gen)) async_pf_execute(this.vm, vcpu, e.slot);
    } else kvm_sync_fault_done(this.vm, vcpu);
  }

  private runOp(op: Op, index: number): void {
    const vcpu = this.vm.vcpus[op.vcpu ?? 0]!;
    const rec = (result: 'ok' | 'rejected', value?: bigint) =>
      this.records.push({
        op: index,
        kind: op.op,
        ...(this.multi ? { vcpu: vcpu.vcpu_id } : {}),
        result,
        ...(value !== undefined ? { value: hex(value) } : {}),
      });
    switch (op.op) {
      case 'host_set_msr': {
        const ok = kvm_set_msr_host_initiated(this.vm, vcpu, op.msr, op.value);
        if (ok) this.guest.noteMsrWrite(vcpu, op.msr, op.value);
        rec(ok ? 'ok' : 'rejected');
        return;
      }
      case 'host_get_msr': {
        const v = kvm_get_msr_host_initiated(this.vm, vcpu, op.msr);
        rec(v === null ? 'rejected' : 'ok', v ?? undefined);
        return;
      }
      case 'run':
        this.runAll();
        rec('ok');
        return;
      case 'touch':
        if (op.backing !== undefined) {
          const gfn = Math.floor(Number(op.gpa) / 4096);
          this.delays.set(gfn, parseDurationNs(op.backing.delay));
          if (gfn < this.vm.mem.npages) this.vm.mem.pageState[gfn] = 0; // host page missing
        }
        break;
      default:
        break;
    }
    this.guest.startOp(vcpu, op, index);
    vcpu.in_userspace = false;
    let steps = 0;
    while (this.guest.busy(vcpu)) {
      this.fireDue();
      const r = kvm_vcpu_run_step(this.vm, vcpu);
      if (r === STEP_BLOCKED && !this.advance()) break;
      if (++steps > this.budget) break;
    }
    if (this.guest.busy(vcpu)) {
      const cur = this.guest.currentOp(vcpu);
      this.guest.abandonOp(vcpu);
      this.records.push({
        op: cur?.index ?? index,
        kind: cur?.op.op ?? op.op,
        ...(this.multi ? { vcpu: vcpu.vcpu_id } : {}),
        result: 'hang',
      });
      // A hung vCPU stays where it is (halted or spinning); later ops start from a clean guest context.
      vcpu.mp_state = KVM_MP_STATE_RUNNABLE;
      vcpu.apf.halted = false;
      vcpu.mode = OUTSIDE_GUEST_MODE;
    }
    vcpu.in_userspace = true;
  }

  /** `run`: every vCPU runs until nothing is left to happen, advancing time over pending workers. */
  private runAll(): void {
    const vcpus = this.vm.vcpus;
    for (const v of vcpus) v.in_userspace = false;
    let steps = 0;
    for (;;) {
      this.fireDue();
      let progress = false;
      for (const v of vcpus) {
        const r = kvm_vcpu_run_step(this.vm, v);
        if (r !== STEP_BLOCKED && !(r === STEP_IDLE && v.requests === 0)) progress = true;
      }
      if (++steps > this.budget) break;
      if (!progress && !this.advance()) break;
    }
    for (const v of vcpus) v.in_userspace = true;
  }

  private trace(vcpu: number, tp: number, a: number, b: number): void {
    const name = TRACEPOINT_NAMES[tp]!;
    const text = formatTracepoint(tp, a, b);
    if (this.opts.traceEvents) this.records.push({ trace: name, ...(this.multi ? { vcpu } : {}), text });
    if (this.opts.ftrace) {
      const worker = tp === TP_KVM_ASYNC_PF_COMPLETED;
      this.ftrace.push(
        formatFtraceLine({
          comm: worker ? `kworker/${vcpu}:1` : `CPU ${vcpu}/KVM`,
          pid: worker ? 100 + vcpu : 1000 + vcpu,
          cpu: vcpu,
          timeNs: this.now,
          event: name,
          text,
        }),
      );
    }
  }
}
