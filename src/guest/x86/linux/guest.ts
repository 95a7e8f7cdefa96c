// The Linux guest (arch/x86/kernel/kvm.c: ≥5.8, x86-apf §4, and the legacy ≤5.7 guest, §5.3) as a
// GuestModel for the host model: the host delivers exceptions and interrupts into it at VM entry and then
// asks it to execute one instruction. Each CPU runs, in priority order: its interrupt handler, its
// exception handler, a legacy halted wait, queued kernel work (boot, hotplug), and otherwise its current
// task — a task's own action, a task's wait loop, or the idle task's `sti; hlt`.
import { GP_VECTOR, PF_VECTOR } from '../../../abi/kvm_host.ts';
import { FRAME_EXC, FRAME_IRQ } from '../../../host/x86/step_effects.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import type { GuestModel, KvmVm } from '../../../host/x86/vm.ts';
import { kvm_set_cr0_pg } from '../../../host/x86/x86.ts';
import { stepApfWait } from './apf_wait.ts';
import { defaultLinuxGuestConfig, type LinuxGuestConfig } from './config.ts';
import type { GuestCtx } from './context.ts';
import {
  kqPending,
  kvm_guest_init,
  pushBoot,
  requestCpuOffline,
  requestCpuOnline,
  requestPvDisableApf,
  stepKernelOp,
} from './cpu_init.ts';
import { handleGeneralProtection } from './guest_msr.ts';
import { guestHalt } from './halt.ts';
import { stepHaltedWait } from './legacy_pf.ts';
import { guestPanic, PANIC_UNHANDLED_EXCEPTION } from './panic.ts';
import { enterNestedPfVmexit, enterPageFault, stepException } from './pf_hook.ts';
import type { TaskProgram } from './program.ts';
import { schedule, send_reschedule_ipi, spawnTask, wakeTask } from './scheduler.ts';
import type { GuestEventSink } from './sink.ts';
import type { WakeTask } from './sleep_table.ts';
import { GSTEP_NONE, KPC_USER, type LinuxGuestState, newLinuxGuestState } from './state.ts';
import { enterInterrupt, stepInterrupt } from './sysvec.ts';
import { stepTask } from './task_exec.ts';

export interface LinuxGuestOptions {
  /** Overrides of defaultLinuxGuestConfig(vm.config.kvm_features). */
  config?: Partial<LinuxGuestConfig>;
  sink?: GuestEventSink | null;
}

export class LinuxGuest implements GuestModel, GuestCtx {
  state: LinuxGuestState;
  readonly sink: GuestEventSink | null;
  wakerCpu = 0;
  readonly wake: WakeTask;

  /**
   * Boots the guest on `vm`'s vCPUs, which should be fresh (IF=0, CPL 0): kvm_guest_init now, and each
   * CPU's boot work (kvm_guest_cpu_init, LAPIC enable, STI) queued as its first steps.
   */
  constructor(
    readonly vm: KvmVm,
    readonly program: TaskProgram,
    opts: LinuxGuestOptions = {},
  ) {
    const config = { ...defaultLinuxGuestConfig(vm.config.kvm_features), ...opts.config };
    this.state = newLinuxGuestState(config, vm.vcpus.length);
    this.sink = opts.sink ?? null;
    // A woken node's waiter: a task's swake_up_one, or for a legacy halted waiter smp_send_reschedule.
    this.wake = (node) => {
      const s = this.state.sleepers;
      if (s.halted[node] !== 0) send_reschedule_ipi(this, s.cpu[node]!);
      else wakeTask(this, node, this.wakerCpu);
    };
    kvm_guest_init(this.state);
    for (let c = 0; c < vm.vcpus.length; c++) pushBoot(this.state, c);
  }

  /** A runnable task on `cpu`; see spawnTask. */
  spawnTask(cpu: number): number {
    return spawnTask(this.state, cpu);
  }

  /**
   * CPU hotplug offline (kvm_cpu_down_prepare) or, with `shutdown`, reboot/crash (x86-apf §4.6). False
   * when the CPU is offline or already going down: the request is refused.
   */
  requestCpuOffline(cpu: number, shutdown: boolean): boolean {
    if (!requestCpuOffline(this.state, cpu, shutdown)) return false;
    send_reschedule_ipi(this, cpu); // stop_machine/IPI: get the CPU to run the work if it idles
    return true;
  }

  /** CPU online / resume (kvm_cpu_online). The vCPU must be made runnable by whoever onlines it. */
  requestCpuOnline(cpu: number): void {
    requestCpuOnline(this.state, cpu);
  }

  /**
   * INIT reached this CPU (a VMM or another CPU sent it): whatever the CPU was doing is gone — handler
   * frames, a halted wait, queued kernel work — and it waits for SIPI, parked. A task that was running
   * there is lost with it, and its sleepers stay hashed; CPU online (requestCpuOnline after SIPI) brings
   * the CPU back. The host side (kvm_vcpu_reset) is the caller's.
   */
  cpuInit(cpu: number): void {
    const c = this.state.cpu;
    c.irqPc[cpu] = 0;
    c.excPc[cpu] = 0;
    c.haltNode[cpu] = -1;
    c.gpFixupMsr[cpu] = 0;
    c.needResched[cpu] = 0;
    c.kqPos[cpu] = 0;
    c.kqLen[cpu] = 0;
    c.online[cpu] = 0;
  }

  onInit(vcpu: KvmVcpu): void {
    this.cpuInit(vcpu.vcpu_id);
  }

  /**
   * SIPI: the AP trampoline (start_secondary) enters long mode — paging on, interrupts still off — and
   * runs the CPU-online path (kvm_cpu_online).
   */
  onSipi(vcpu: KvmVcpu): void {
    kvm_set_cr0_pg(this.vm, vcpu, true);
    this.requestCpuOnline(vcpu.vcpu_id);
  }

  requestPvDisableApf(cpu: number): void {
    requestPvDisableApf(this.state, cpu);
    send_reschedule_ipi(this, cpu);
  }

  step(vcpu: KvmVcpu): boolean {
    const st = this.state;
    const c = vcpu.vcpu_id;
    const cpu = st.cpu;
    vcpu.interrupt_shadow = false; // no instruction of the model leaves an STI/MOV-SS shadow behind
    const fx = this.vm.effects;
    fx.ns = 0;
    fx.task = cpu.curr[c]!;
    if (st.panicked >= 0) {
      fx.kind = GSTEP_NONE;
      return false;
    }
    if (cpu.irqPc[c] !== 0) {
      fx.frame = FRAME_IRQ;
      stepInterrupt(this, vcpu);
    } else if (cpu.excPc[c] !== 0) {
      fx.frame = FRAME_EXC;
      stepException(this, vcpu);
    } else if (cpu.haltNode[c]! >= 0) stepHaltedWait(this, vcpu);
    else if (kqPending(st, c) > 0) stepKernelOp(this, vcpu);
    else if (cpu.online[c] === 0) {
      // play_dead: cli; hlt.
      vcpu.rflags_if = false;
      guestHalt(this, vcpu);
    } else {
      const t = cpu.curr[c]!;
      if (t >= 0) {
        if (st.task.kpc[t] !== KPC_USER) stepApfWait(this, vcpu, t);
        else stepTask(this, vcpu, t);
      } else if (cpu.rqLen[c]! > 0) schedule(this, vcpu);
      else {
        // The idle task: `sti; hlt` as one instruction (STI's shadow covers the HLT, so a wakeup
        // interrupt is taken after the HLT, never between the check and the halt).
        vcpu.rflags_if = true;
        vcpu.cpl = 0;
        guestHalt(this, vcpu);
      }
    }
    return true;
  }

  deliverException(vcpu: KvmVcpu, vector: number, errorCode: number): void {
    const st = this.state;
    if (st.panicked >= 0) return;
    if (vector === PF_VECTOR && st.cpu.excPc[vcpu.vcpu_id] === 0) enterPageFault(this, vcpu, errorCode);
    else if (vector === GP_VECTOR) handleGeneralProtection(this, vcpu);
    else guestPanic(this, vcpu.vcpu_id, PANIC_UNHANDLED_EXCEPTION);
  }

  deliverInterrupt(vcpu: KvmVcpu, vector: number): void {
    if (this.state.panicked >= 0) return;
    if (this.state.cpu.irqPc[vcpu.vcpu_id] !== 0)
      throw new Error(
        `linux guest: interrupt ${vector} delivered to cpu ${vcpu.vcpu_id} inside its handler (IF=0)`,
      );
    enterInterrupt(this, vcpu, vector);
  }

  deliverNestedPfVmexit(vcpu: KvmVcpu, faultAddress: number): void {
    if (this.state.panicked >= 0) return;
    enterNestedPfVmexit(this, vcpu, faultAddress);
  }
}
