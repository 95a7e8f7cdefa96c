// The model backend of an x86 script with a `guest:` section: a Linux guest of the chosen generation
// boots on the vCPUs and runs its tasks, while the script's ops act from the host side (docs/scenarios.md,
// "Scripts with the Linux guest"). The host, its hooks and the timed completions are HostTimeline's, as
// for the bare guest; what this adds is time for the guest's own work. Each vCPU has a clock: compute
// bursts advance it, every other guest step takes no time, and the vCPU with the earliest clock steps
// next unless a completion is due first. The transcript is the bare guest's (op records, guest events)
// plus one record per task and one for the sleep table's dummies at the end.

import { linuxGuestConfigFor } from '../guest/x86/linux/config.ts';
import { LinuxGuest } from '../guest/x86/linux/guest.ts';
import { fixedProgram, type TaskAction } from '../guest/x86/linux/program.ts';
import { transcriptSink } from '../guest/x86/linux/sink.ts';
import { forEachSleepNode, isDummy } from '../guest/x86/linux/sleep_table.ts';
import { GSTEP_COMPUTE, GSTEP_HALT, TASK_EXITED, TASK_SLEEPING } from '../guest/x86/linux/state.ts';
import { bugSet } from '../host/x86/bugs.ts';
import { hostBehaviour } from '../host/x86/era.ts';
import { kvm_vcpu_can_step, STEP_RAN } from '../host/x86/run_loop.ts';
import { applyX86Step } from '../host/x86/steps.ts';
import { IN_GUEST_MODE, type KvmVcpu } from '../host/x86/vcpu.ts';
import {
  kvm_vcpu_ioctl_get_lapic,
  kvm_vcpu_ioctl_set_lapic,
  kvm_vcpu_ioctl_set_msrs,
} from '../host/x86/vcpu_ioctl.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { kvm_get_msr_host_initiated, kvm_vmexit } from '../host/x86/x86.ts';
import { gpaToGfn } from '../mem/guest_memory.ts';
import { variantSet } from '../variant/variant_set.ts';
import { mapsRecord, runMapOp } from './host_map_ops.ts';
import { kvmStatRecord, runHostMmOp } from './host_mm.ts';
import { HostTimeline } from './host_timeline.ts';
import { APF_REASON_STRIDE } from './linux_check.ts';
import type { LinuxGuestScript, TaskStep } from './linux_schema.ts';
import type { RunOptions, RunResult } from './runner.ts';
import { isHostMmOp, isMapOp, isMigrationOp, isPressureOp, type Script, type ScriptOp } from './schema.ts';
import { kvmSupportedPvFeatures } from './supported_cpuid.ts';
import { hex, type OpRecord, type TaskRecord } from './transcript.ts';
import { toVmConfig } from './vm_config.ts';

/** Runs a validated script whose `guest` is set. */
export function runLinuxScript(script: Script, opts: RunOptions = {}): RunResult {
  return new LinuxScriptRun(script, opts).run();
}

/** A task's program step as the guest model's action. */
function toAction(step: TaskStep): TaskAction {
  if ('compute' in step) return { kind: 'compute', ns: step.compute };
  return { kind: 'touch', gpa: Number(step.touch), write: step.write, mode: step.mode };
}

class LinuxScriptRun {
  private readonly host: HostTimeline;
  private readonly vm: KvmVm;
  private readonly guest: LinuxGuest;
  /** Per vCPU: the virtual time its next guest step starts at. */
  private readonly clock: Float64Array;
  private readonly multi: boolean;
  private readonly budget: number;

  constructor(
    private readonly script: Script,
    opts: RunOptions,
  ) {
    const g = script.guest as LinuxGuestScript;
    const c = script.vm;
    const bugs = bugSet(script.bugs);
    const variants = variantSet(script.variants);
    const era = hostBehaviour(
      script.era,
      bugs,
      c.pv_msr_unsupported,
      { lapicDequeueGate: c.lapic_dequeue_gate },
      variants.host,
      variants.kfn,
    );
    // The VMM's CPU model ∩ KVM_GET_SUPPORTED_CPUID: an old host never shows a newer async-PF bit.
    const kvm_features = (c.kvm_features & kvmSupportedPvFeatures(era)) >>> 0;
    this.multi = c.vcpus > 1;
    this.budget = opts.stepBudget ?? 100_000;
    this.clock = new Float64Array(c.vcpus);
    this.host = new HostTimeline(era, toVmConfig(c, kvm_features, bugs), this.multi, opts);
    this.vm = this.host.vm;
    for (const task of g.tasks)
      for (const step of task.program)
        if ('touch' in step && step.backing !== undefined)
          this.host.setBacking(gpaToGfn(Number(step.touch)), step.backing.delay);
    const program = fixedProgram(g.tasks.map((t) => t.program.map(toAction)));
    this.guest = new LinuxGuest(this.vm, program, {
      config: {
        ...linuxGuestConfigFor(g.kind, kvm_features),
        preempt: g.preempt,
        no_kvmapf: g.no_kvmapf,
        apf_reason_base: g.apf_reason,
        apf_reason_stride: APF_REASON_STRIDE,
        slice_actions: g.slice,
        max_tasks: Math.max(1, g.tasks.length),
        bugs,
        wake_all_frees_dummies: g.wake_all_frees_dummies,
        variants: variants.guest,
      },
      sink: transcriptSink(this.host.records, this.multi),
    });
    this.vm.guest = this.guest;
    for (const task of g.tasks) this.guest.spawnTask(task.cpu);
    for (const v of this.vm.vcpus) v.in_userspace = true; // KVM_RUN starts with the first `run`
  }

  run(): RunResult {
    for (const [i, op] of this.script.ops.entries()) this.runOp(op, i);
    this.report();
    if (this.vm.config.mmu_notifiers) this.host.records.push(kvmStatRecord(this.vm));
    if (this.vm.hostMaps !== null) this.host.records.push(mapsRecord(this.vm.hostMaps));
    return { records: this.host.records, ftrace: this.host.ftrace };
  }

  private runOp(op: ScriptOp, index: number): void {
    if (isHostMmOp(op)) {
      this.host.records.push(runHostMmOp(this.host, op, index));
      return;
    }
    if (isMapOp(op)) {
      this.host.records.push(runMapOp(this.vm, op, index, this.multi, bugSet(this.script.bugs)));
      return;
    }
    if (isMigrationOp(op) || isPressureOp(op)) return; // refused at load (peer_check.ts)
    const vcpu = this.vm.vcpus[op.vcpu ?? 0]!;
    const rec = (result: OpRecord['result'], value?: bigint): void => {
      this.host.records.push({
        op: index,
        kind: op.op,
        ...(this.multi ? { vcpu: vcpu.vcpu_id } : {}),
        result,
        ...(value !== undefined ? { value: hex(value) } : {}),
      });
    };
    switch (op.op) {
      case 'run':
        rec(this.runAll(op.for === undefined ? Number.POSITIVE_INFINITY : op.for) ? 'ok' : 'hang');
        return;
      case 'host_set_msr':
        rec(this.host.setMsr(vcpu.vcpu_id, op.msr, op.value) ? 'ok' : 'rejected');
        return;
      case 'host_get_msr': {
        const v = kvm_get_msr_host_initiated(this.vm, vcpu, op.msr);
        rec(v === null ? 'rejected' : 'ok', v ?? undefined);
        return;
      }
      case 'host_set_msrs':
        rec('ok', BigInt(kvm_vcpu_ioctl_set_msrs(this.vm, vcpu, op.entries)));
        return;
      case 'host_set_lapic':
        // Also how a firmware that software-enabled the LAPIC before the kernel (SeaBIOS, OVMF) is modelled.
        rec(kvm_vcpu_ioctl_set_lapic(this.vm, vcpu, op) ? 'ok' : 'rejected');
        return;
      case 'host_get_lapic': {
        const v = kvm_vcpu_ioctl_get_lapic(this.vm, vcpu, op.reg);
        rec(v === null ? 'rejected' : 'ok', v === null ? undefined : BigInt(v));
        return;
      }
      case 'read_mem': {
        const v = this.vm.mem.read(Number(op.gpa), op.size);
        rec(v === null ? 'rejected' : 'ok', v ?? undefined);
        return;
      }
      case 'write_mem':
        rec(this.vm.mem.write(Number(op.gpa), op.size, op.value) ? 'ok' : 'rejected');
        return;
      case 'smi':
        this.smi(vcpu);
        rec('ok');
        return;
      case 'init':
        applyX86Step(this.vm, { kind: 'init', vcpu: vcpu.vcpu_id });
        rec('ok');
        return;
      case 'cpu_offline':
        rec(this.guest.requestCpuOffline(vcpu.vcpu_id, op.shutdown) ? 'ok' : 'rejected');
        return;
      case 'cpu_online':
        rec(this.cpuOnline(vcpu) ? 'ok' : 'rejected');
        return;
      default:
        throw new Error(`linux script: op ${op.op} is not a host op`); // checkLinuxScript rejects it
    }
  }

  /**
   * An SMI taken between two guest instructions, and the RSM at the end of the SMM handler (smm.ts): SMM
   * entry clears CR0.PG and IF (≤6.17 the PG change clears the async-PF queue, x86-apf §3.12), RSM restores
   * them (6.18+: PG 0→1 rescans). The handler is firmware that touches nothing of async PF, so it runs to
   * its RSM before the next op.
   */
  private smi(vcpu: KvmVcpu): void {
    applyX86Step(this.vm, { kind: 'smi', vcpu: vcpu.vcpu_id });
    applyX86Step(this.vm, { kind: 'rsm', vcpu: vcpu.vcpu_id });
  }

  /**
   * INIT + SIPI + the online path for a CPU that is offline (parked, or waiting for SIPI after INIT).
   * The AP trampoline enters long mode (CR0.PG = 1) with interrupts off and runs kvm_cpu_online.
   */
  private cpuOnline(vcpu: KvmVcpu): boolean {
    const c = vcpu.vcpu_id;
    if (this.guest.state.cpu.online[c] === 1) return false;
    applyX86Step(this.vm, { kind: 'init', vcpu: c });
    applyX86Step(this.vm, { kind: 'sipi', vcpu: c });
    return true;
  }

  /**
   * `run`: the vCPUs run until nothing is left to happen (every vCPU blocked and no completion pending,
   * or the guest panicked), or (`run: {for}`) until `span` of virtual time has passed; false when the
   * step budget ran out first (a vCPU spinning, e.g. HLT that returns at once because `done` can never
   * drain).
   */
  private runAll(span: number): boolean {
    const vcpus = this.vm.vcpus;
    const host = this.host;
    const st = () => this.guest.state;
    const deadline = host.now + span;
    for (const v of vcpus) v.in_userspace = false;
    let quiescent = false;
    for (let steps = 0; steps <= this.budget; ) {
      if (st().panicked >= 0) {
        quiescent = true;
        break;
      }
      let next = -1;
      let at = Number.POSITIVE_INFINITY;
      for (const v of vcpus) {
        if (!kvm_vcpu_can_step(this.vm, v)) continue;
        const t = Math.max(this.clock[v.vcpu_id]!, host.now);
        if (t < at) {
          at = t;
          next = v.vcpu_id;
        }
      }
      const due = host.nextTime();
      if (next < 0 && due === Number.POSITIVE_INFINITY) {
        quiescent = true;
        break;
      }
      if (Math.min(at, due) >= deadline) {
        quiescent = true;
        break;
      }
      if (due <= at) {
        // A completion comes first (a blocked vCPU's clock catches up when it next steps).
        host.now = Math.max(host.now, due);
        host.fireDue();
        continue;
      }
      host.now = at;
      this.clock[next] = at;
      const v = vcpus[next]!;
      host.running(v.vcpu_id);
      const r = applyX86Step(this.vm, { kind: 'run', vcpu: v.vcpu_id });
      steps++;
      if (r !== STEP_RAN) continue;
      const fx = this.vm.effects;
      if (fx.kind === GSTEP_COMPUTE) this.clock[next] = at + fx.ns;
      else if (fx.kind === GSTEP_HALT && kvm_vcpu_can_step(this.vm, v))
        this.clock[next] = this.spinUntil(next, at);
    }
    if (quiescent && Number.isFinite(deadline)) host.now = Math.max(host.now, deadline); // idle or not
    for (const v of vcpus) {
      if (v.mode === IN_GUEST_MODE) kvm_vmexit(v); // the VMM takes the vCPU out of KVM_RUN
      v.in_userspace = true;
    }
    return quiescent;
  }

  /**
   * A HLT that returned at once (`done` is non-empty but cannot drain): the vCPU spins at 100% until
   * something else happens — a completion, or another vCPU's step. Its clock jumps there so that the
   * spin does not stop virtual time for the others; the step budget still ends a spin nothing can break.
   */
  private spinUntil(c: number, at: number): number {
    let until = this.host.nextTime();
    for (const v of this.vm.vcpus)
      if (v.vcpu_id !== c && kvm_vcpu_can_step(this.vm, v))
        until = Math.min(until, Math.max(this.clock[v.vcpu_id]!, at) + 1);
    return Number.isFinite(until) ? Math.max(at, until) : at;
  }

  /** One record per task, then the sleep table's dummies. */
  private report(): void {
    const st = this.guest.state;
    const s = st.sleepers;
    const halted = new Map<number, number>();
    for (let c = 0; c < st.ncpus; c++) if (st.cpu.haltNode[c]! >= 0) halted.set(st.cpu.haltNode[c]!, c);
    for (let t = 0; t < st.nTasks; t++) {
      const rec: TaskRecord = {
        task: t,
        ...(this.multi ? { vcpu: st.task.cpu[t]! } : {}),
        result: 'unfinished',
      };
      if (st.task.state[t] === TASK_EXITED) rec.result = 'finished';
      else if (halted.has(t) && s.linked[t] === 1) {
        rec.result = 'hung';
        rec.token = hex(s.token[t]!);
        rec.wait = 'halt';
      } else if (st.task.state[t] === TASK_SLEEPING && s.linked[t] === 1) {
        rec.result = 'hung';
        rec.token = hex(s.token[t]!);
      }
      this.host.records.push(rec);
    }
    let hashed = 0;
    forEachSleepNode(s, (_b, n) => {
      if (isDummy(s, n)) hashed++;
    });
    this.host.records.push({
      dummies: 'sleep_table',
      created: s.dummiesCreated,
      consumed: s.dummiesConsumed,
      leaked: s.dummiesLeaked,
      freed: s.dummiesFreedByWakeAll,
      hashed,
    });
  }
}
