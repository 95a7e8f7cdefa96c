// The model backend of `kind: script`: builds a VM from the scenario, drives the bare test guest op by
// op through the host run loop, and runs async workers and synchronous fault-ins at the virtual time
// their backing delay says. The transcript has no times in it; the ftrace output does.

import { ENOMEM } from '../abi/errno.ts';
import { KVM_MP_STATE_RUNNABLE } from '../abi/kvm.ts';
import { BareGuest } from '../guest/x86/bare/bare_guest.ts';
import { bugSet } from '../host/x86/bugs.ts';
import { hostBehaviour } from '../host/x86/era.ts';
import { kvm_host_dead, STEP_BLOCKED, STEP_IDLE } from '../host/x86/run_loop.ts';
import { applyX86Step, type X86Step } from '../host/x86/steps.ts';
import { OUTSIDE_GUEST_MODE } from '../host/x86/vcpu.ts';
import {
  kvm_vcpu_ioctl_get_lapic,
  kvm_vcpu_ioctl_set_lapic,
  kvm_vcpu_ioctl_set_msrs,
} from '../host/x86/vcpu_ioctl.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { kvm_get_msr_host_initiated } from '../host/x86/x86.ts';
import { gpaToGfn } from '../mem/guest_memory.ts';
import type { EventFilter } from '../trace/events_filter.ts';
import { variantSet } from '../variant/variant_set.ts';
import { mapsRecord, runMapOp } from './host_map_ops.ts';
import { kvmStatRecord, runHostMmOp } from './host_mm.ts';
import { HostTimeline } from './host_timeline.ts';
import { runLinuxScript } from './linux_runner.ts';
import { isHostMmOp, isMapOp, type Script, type ScriptOp } from './schema.ts';
import { hex, type TranscriptRecord } from './transcript.ts';
import { toVmConfig } from './vm_config.ts';

export interface RunOptions {
  /** Put tracepoints in the transcript. */
  traceEvents?: boolean;
  /** Collect ftrace-format lines. */
  ftrace?: boolean;
  /** The events the ftrace lines hold (`--events`; absent: the async-PF and MMU-notifier ones). */
  events?: EventFilter;
  /** Guest instructions one op may take before it is declared hung (HLT spinning, lost wakeups). */
  stepBudget?: number;
}

export interface RunResult {
  records: TranscriptRecord[];
  ftrace: string[];
}

/** Runs a validated script on the model and returns its transcript. */
export function runScript(script: Script, opts: RunOptions = {}): RunResult {
  if (script.guest !== undefined) return runLinuxScript(script, opts);
  return new ScriptRun(script, opts).run();
}

class ScriptRun {
  private readonly host: HostTimeline;
  private readonly records: TranscriptRecord[];
  private readonly vm: KvmVm;
  private readonly guest: BareGuest;
  private readonly multi: boolean;
  private readonly budget: number;
  /** The `run` step of each vCPU. */
  private readonly runSteps: readonly X86Step[];

  constructor(
    private readonly script: Script,
    opts: RunOptions,
  ) {
    const c = script.vm;
    const variants = variantSet(script.variants);
    this.multi = c.vcpus > 1;
    this.budget = opts.stepBudget ?? 100_000;
    this.host = new HostTimeline(
      hostBehaviour(
        script.era,
        bugSet(script.bugs),
        c.pv_msr_unsupported,
        { lapicDequeueGate: c.lapic_dequeue_gate },
        variants.host,
        variants.kfn,
      ),
      toVmConfig(c, c.kvm_features, bugSet(script.bugs)),
      this.multi,
      opts,
    );
    this.vm = this.host.vm;
    this.runSteps = this.vm.vcpus.map((v): X86Step => ({ kind: 'run', vcpu: v.vcpu_id }));
    this.records = this.host.records;
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
    for (const [i, op] of this.script.ops.entries()) {
      this.runOp(op, i);
      // A kernel BUG (vm.mmu_caches) killed the host: the host_bug event is the transcript's last word
      // from the VM; the remaining ops have no host to run on.
      if (kvm_host_dead(this.vm)) break;
    }
    if (this.vm.config.mmu_notifiers) this.records.push(kvmStatRecord(this.vm));
    if (this.vm.hostMaps !== null) this.records.push(mapsRecord(this.vm.hostMaps));
    return { records: this.records, ftrace: this.host.ftrace };
  }

  private runOp(op: ScriptOp, index: number): void {
    if (isHostMmOp(op)) {
      this.records.push(runHostMmOp(this.host, op, index));
      return;
    }
    if (isMapOp(op)) {
      this.records.push(runMapOp(this.vm, op, index, this.multi, bugSet(this.script.bugs)));
      return;
    }
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
        const ok = this.host.setMsr(vcpu.vcpu_id, op.msr, op.value);
        if (ok) this.guest.noteMsrWrite(vcpu, op.msr, op.value);
        rec(ok ? 'ok' : 'rejected');
        return;
      }
      case 'host_get_msr': {
        const v = kvm_get_msr_host_initiated(this.vm, vcpu, op.msr);
        rec(v === null ? 'rejected' : 'ok', v ?? undefined);
        return;
      }
      case 'host_set_msrs': {
        const n = kvm_vcpu_ioctl_set_msrs(this.vm, vcpu, op.entries, (msr, v) =>
          this.guest.noteMsrWrite(vcpu, msr, v),
        );
        rec('ok', BigInt(n));
        return;
      }
      case 'host_set_lapic':
        rec(kvm_vcpu_ioctl_set_lapic(this.vm, vcpu, op) ? 'ok' : 'rejected');
        return;
      case 'host_get_lapic': {
        const v = kvm_vcpu_ioctl_get_lapic(this.vm, vcpu, op.reg);
        rec(v === null ? 'rejected' : 'ok', v === null ? undefined : BigInt(v));
        return;
      }
      case 'run':
        this.runAll(index);
        if (!kvm_host_dead(this.vm)) rec('ok');
        return;
      case 'touch':
        if (op.backing !== undefined) this.host.setBacking(gpaToGfn(Number(op.gpa)), op.backing.delay);
        break;
      default:
        break;
    }
    this.guest.startOp(vcpu, op, index);
    vcpu.in_userspace = false;
    let steps = 0;
    while (this.guest.busy(vcpu)) {
      this.host.fireDue();
      this.host.running(vcpu.vcpu_id);
      const r = applyX86Step(this.vm, this.runSteps[vcpu.vcpu_id]!);
      if (this.kvmRunFailed(vcpu.vcpu_id, index) || kvm_host_dead(this.vm)) return;
      if (r === STEP_BLOCKED && !this.host.advance()) break;
      if (++steps > this.budget) break;
    }
    if (kvm_host_dead(this.vm)) return;
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

  /**
   * KVM_RUN returned an error on vCPU v (vm.mmu_caches: a failed topup or root load): the op ends with
   * result kvm_run_error. A VMM such as QEMU would stop the VM here; the script goes on with its next op,
   * which enters KVM_RUN again (the guest re-executes the instruction that faulted).
   */
  private kvmRunFailed(v: number, index: number): boolean {
    const m = this.vm.memcache;
    if (m === null || m.run_error[v] === 0) return false;
    const errno = m.run_error[v]!;
    m.run_error[v] = 0;
    const cur = this.guest.currentOp(this.vm.vcpus[v]!);
    this.guest.abandonOp(this.vm.vcpus[v]!);
    this.records.push({
      op: cur?.index ?? index,
      kind: cur?.op.op ?? 'run',
      ...(this.multi ? { vcpu: v } : {}),
      result: 'kvm_run_error',
      errno: errnoName(errno),
    });
    this.vm.vcpus[v]!.in_userspace = true;
    return true;
  }

  /** `run`: every vCPU runs until nothing is left to happen, advancing time over pending workers. */
  private runAll(index: number): void {
    const vcpus = this.vm.vcpus;
    for (const v of vcpus) v.in_userspace = false;
    let steps = 0;
    for (;;) {
      this.host.fireDue();
      let progress = false;
      for (const v of vcpus) {
        this.host.running(v.vcpu_id);
        const r = applyX86Step(this.vm, this.runSteps[v.vcpu_id]!);
        if (kvm_host_dead(this.vm)) return;
        if (this.kvmRunFailed(v.vcpu_id, index)) continue;
        if (r !== STEP_BLOCKED && !(r === STEP_IDLE && v.requests === 0)) progress = true;
      }
      if (++steps > this.budget) break;
      if (!progress && !this.host.advance()) break;
    }
    for (const v of vcpus) v.in_userspace = true;
  }
}

/** "-ENOMEM" for -12 (the errnos KVM_RUN returns in the model). */
function errnoName(errno: number): string {
  return errno === -ENOMEM ? '-ENOMEM' : String(errno);
}
