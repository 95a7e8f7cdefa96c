// The Linux ≥5.8 guest (src/guest/x86/linux/) as an explore-world guest: its own encoder
// (encodeLinuxGuest) supplies the words, including the apf_reason areas in guest RAM.

import type { GuestVariant } from '../../guest/x86/guest_behaviour.ts';
import { apfEnabled, apfReasonPa } from '../../guest/x86/linux/apf_reason.ts';
import { isLegacyGuest, linuxGuestConfigFor } from '../../guest/x86/linux/config.ts';
import { KOP_NAMES } from '../../guest/x86/linux/cpu_init.ts';
import {
  decodeLinuxGuest,
  encodeLinuxGuest,
  linuxGuestComponents,
  linuxGuestEncodedWords,
} from '../../guest/x86/linux/encode.ts';
import { LinuxGuest } from '../../guest/x86/linux/guest.ts';
import { PANIC_MESSAGES } from '../../guest/x86/linux/panic.ts';
import { fixedProgram, type TaskAction } from '../../guest/x86/linux/program.ts';
import type { GuestEventSink } from '../../guest/x86/linux/sink.ts';
import { forEachSleepNode, isDummy } from '../../guest/x86/linux/sleep_table.ts';
import { EXC_NONE, IRQ_NONE, KPC_USER, KQ_CAP, type LinuxGuestState } from '../../guest/x86/linux/state.ts';
import {
  ACT_COMPUTE,
  ACT_EXIT,
  ACT_NONE,
  ACT_TOUCH,
  ACTF_MODE_SHIFT,
  ACTF_WRITE,
} from '../../guest/x86/linux/task_exec.ts';
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import type { KvmVm } from '../../host/x86/vm.ts';
import { LINUX_APF_REASON_BASE, type LinuxGuestSpec } from './config.ts';
import { type GuestAdapter, hex } from './guest_adapter.ts';

const TASK_STATE = ['free', 'runnable', 'running', 'sleeping', 'exited'];
const EXC_NAMES = ['', 'pf:read_flags', 'pf:handle', 'npf:read_flags', 'npf:handle'];
const IRQ_NAMES = [
  '',
  'irq:eoi',
  'irq:stat',
  'irq:read_token',
  'irq:wake',
  'irq:clear_token',
  'irq:ack',
  'irq:iret',
  'irq:other',
  'irq:resched',
];
const MODES = ['user', 'kernel', 'l2'];

/** Where the guest's events go: into the world's event log while a counterexample is being rendered. */
export interface EventLog {
  events: string[] | null;
}

function sinkFor(log: EventLog): GuestEventSink {
  const put = (s: string): void => {
    log.events?.push(s);
  };
  return {
    pageFault: (cpu, cr2, ec, flags) =>
      log.events &&
      put(
        `guest cpu${cpu}: #PF cr2=${hex(cr2)} error_code=${hex(ec)}${flags >= 0 ? ` flags=${hex(flags)}` : ''}`,
      ),
    irq: (cpu, vector, token, flags) =>
      log.events &&
      put(
        `guest cpu${cpu}: irq ${hex(vector)}${token >= 0 ? ` token=${hex(token)}` : ''}${flags >= 0 ? ` flags=${hex(flags)}` : ''}`,
      ),
    ack: (cpu, value, ok) => log.events && put(`guest cpu${cpu}: wrmsr ACK=${value} ${ok ? 'ok' : '#GP'}`),
    panic: (cpu, reason) => log.events && put(`guest cpu${cpu}: PANIC ${reason}`),
    warning: (cpu, message) => log.events && put(`guest cpu${cpu}: WARN ${message}`),
  };
}

function actionText(st: LinuxGuestState, t: number): string {
  const ts = st.task;
  switch (ts.actKind[t]) {
    case ACT_TOUCH: {
      const f = ts.actFlags[t]!;
      return `${f & ACTF_WRITE ? 'write' : 'read'} ${hex(ts.actGpa[t]!)} (${MODES[f >>> ACTF_MODE_SHIFT]})`;
    }
    case ACT_COMPUTE:
      return 'compute';
    case ACT_EXIT:
      return 'exit';
    default:
      return 'next action';
  }
}

export class LinuxAdapter implements GuestAdapter {
  readonly kind = 'linux';
  readonly model: LinuxGuest;
  readonly words: number;
  readonly components: readonly number[];
  readonly coveredWords: readonly number[];
  readonly waiterSlots: number;
  /** The ≤5.7 guest ('page ready' by #PF, halted waits). */
  readonly legacy: boolean;
  private readonly programs: readonly (readonly TaskAction[])[];

  constructor(
    private readonly vm: KvmVm,
    spec: LinuxGuestSpec,
    bugs: number,
    log: EventLog,
    variants: readonly GuestVariant[] = [],
  ) {
    this.programs = spec.tasks.map((t) => t.program);
    this.model = new LinuxGuest(vm, fixedProgram(this.programs), {
      config: {
        ...linuxGuestConfigFor(spec.kernel, vm.config.kvm_features),
        preempt: spec.preempt,
        wake_all_frees_dummies: spec.wake_all_frees_dummies,
        bugs,
        apf_reason_base: LINUX_APF_REASON_BASE,
        max_tasks: Math.max(1, spec.tasks.length),
        max_dummies: spec.max_dummies,
        slice_actions: spec.slice_actions,
        apic_enable_at_boot: spec.apic_enable_at_boot,
        ...(variants.length > 0 ? { variants } : {}),
      },
      sink: sinkFor(log),
    });
    for (const t of spec.tasks) this.model.spawnTask(t.cpu);
    this.words = linuxGuestEncodedWords(this.model.state);
    this.components = linuxGuestComponents(this.model.state);
    const cfg = this.model.state.config;
    const covered: number[] = [];
    for (let c = 0; c < vm.vcpus.length; c++) {
      const pa = apfReasonPa(cfg, c);
      covered.push(pa, pa + 4);
      if (cfg.enabled_flag === 'apf_reason') covered.push(pa + 64);
    }
    this.coveredWords = covered;
    // Waiters are the tasks' sleep nodes and (legacy halted waits) the idle tasks' nodes.
    this.waiterSlots = this.model.state.sleepers.firstDummy;
    this.legacy = isLegacyGuest(cfg);
  }

  get state(): LinuxGuestState {
    return this.model.state;
  }

  /** The program of task t (for symmetry: tasks with equal programs are interchangeable). */
  program(t: number): readonly TaskAction[] {
    return this.programs[t]!;
  }

  encode(out: Int32Array, off: number): void {
    encodeLinuxGuest(this.model.state, this.vm.mem, out, off);
  }

  decode(words: Int32Array, off: number): void {
    decodeLinuxGuest(words, off, this.model.state, this.vm.mem);
  }

  beforeRun(): void {}

  dead(): boolean {
    return this.model.state.panicked >= 0;
  }

  panicked(): boolean {
    return this.model.state.panicked >= 0;
  }

  warnedFlags(): boolean {
    return this.model.state.warnedUnexpectedFlags || this.model.state.warnedUnexpectedHostFlags;
  }

  /** Waiter i (task i, or an idle task) waits on an APF token: its sleep node is hashed. */
  waiting(i: number): boolean {
    return this.model.state.sleepers.linked[i] === 1;
  }

  /** The vCPU that issued the token waiter i sleeps on: its low 12 bits (alloc_apf_token). */
  waiterVcpu(i: number): number {
    const x = this.model.state.sleepers.token[i]! & 0xfff;
    return x < this.vm.vcpus.length ? x : -1;
  }

  busy(cpu: number): boolean {
    const c = this.model.state.cpu;
    return c.irqPc[cpu] !== IRQ_NONE || c.excPc[cpu] !== EXC_NONE || c.kqLen[cpu]! > c.kqPos[cpu]!;
  }

  dummies(): number {
    const s = this.model.state.sleepers;
    let n = 0;
    forEachSleepNode(s, (_b, node) => {
      if (isDummy(s, node)) n++;
    });
    return n;
  }

  leakedDummies(): number {
    return this.model.state.sleepers.dummiesLeaked;
  }

  /**
   * INIT of a Linux CPU is a hotplug cycle, done by the world in two steps: here the offline request
   * (kvm_cpu_down_prepare: wake-all, EN = 0, park); steps.ts delivers INIT + SIPI (init_sipi.ts)
   * once the CPU is parked.
   */
  initCpu(vcpu: KvmVcpu): void {
    this.model.requestCpuOffline(vcpu.vcpu_id, false);
  }

  /** The CPU finished going offline: parked, no kernel work left. */
  parked(cpu: number): boolean {
    const c = this.model.state.cpu;
    return c.online[cpu] === 0 && c.kqLen[cpu] === c.kqPos[cpu];
  }

  nextAction(vcpu: KvmVcpu): string {
    const st = this.model.state;
    const c = vcpu.vcpu_id;
    const cpu = st.cpu;
    if (st.panicked >= 0) return 'panicked';
    if (cpu.irqPc[c] !== IRQ_NONE) return IRQ_NAMES[cpu.irqPc[c]!] ?? 'irq';
    if (cpu.excPc[c] !== EXC_NONE) return EXC_NAMES[cpu.excPc[c]!] ?? 'exception';
    if (cpu.haltNode[c]! >= 0) return 'halted apf wait: sti; hlt';
    if (cpu.kqLen[c]! > cpu.kqPos[c]!) return `kernel: ${KOP_NAMES[cpu.kq[c * KQ_CAP + cpu.kqPos[c]!]!]}`;
    if (cpu.online[c] === 0) return 'offline: cli; hlt';
    const t = cpu.curr[c]!;
    if (t >= 0) {
      if (st.task.kpc[t] !== KPC_USER) return `task ${t}: apf wait loop`;
      if (st.task.actKind[t] === ACT_NONE) {
        const a = this.programs[t]?.[st.task.pc[t]!];
        if (a === undefined) return `task ${t}: exit`;
        return `task ${t}: ${a.kind === 'touch' ? `${a.write ? 'write' : 'read'} ${hex(a.gpa)} (${a.mode ?? 'user'})` : a.kind}`;
      }
      return `task ${t}: ${actionText(st, t)}`;
    }
    if (cpu.rqLen[c]! > 0) return 'schedule';
    return 'idle: sti; hlt';
  }

  describe(out: Record<string, string | number | boolean>): void {
    const st = this.model.state;
    const cpu = st.cpu;
    const mem = this.vm.mem;
    out.guest =
      st.panicked >= 0
        ? `PANIC(${PANIC_MESSAGES[st.panicReason]})`
        : st.warnedUnexpectedFlags
          ? 'warned'
          : 'ok';
    for (let c = 0; c < st.ncpus; c++) {
      const pa = apfReasonPa(st.config, c);
      const en = apfEnabled(mem, st.config, cpu.percpuEnabled, c) ? 'on' : 'off';
      out[`cpu${c}.apf_reason`] =
        `flags=${hex(mem.readU32(pa))} token=${hex(mem.readU32(pa + 4))} enabled=${en}`;
      const frames = [
        cpu.irqPc[c]
          ? `${IRQ_NAMES[cpu.irqPc[c]!]}${cpu.irqPc[c]! > 3 ? `(${hex(cpu.irqToken[c]!)})` : ''}`
          : '',
        cpu.excPc[c] ? `${EXC_NAMES[cpu.excPc[c]!]}(${hex(cpu.excToken[c]!)})` : '',
      ].filter(Boolean);
      if (cpu.haltNode[c]! >= 0) frames.push(`halted-wait(node ${cpu.haltNode[c]})`);
      out[`cpu${c}.frames`] = frames.join(' ') || '-';
      out[`cpu${c}.curr`] =
        cpu.online[c] === 0 ? 'offline' : cpu.curr[c]! < 0 ? 'idle' : `task ${cpu.curr[c]}`;
      const rq: number[] = [];
      for (let k = 0; k < cpu.rqLen[c]!; k++)
        rq.push(cpu.rq[c * st.config.max_tasks + ((cpu.rqHead[c]! + k) % st.config.max_tasks)]!);
      out[`cpu${c}.rq`] = rq.length ? rq.join(',') : '-';
      const kq: string[] = [];
      for (let k = cpu.kqPos[c]!; k < cpu.kqLen[c]!; k++) kq.push(KOP_NAMES[cpu.kq[c * KQ_CAP + k]!]!);
      out[`cpu${c}.kernel_work`] = kq.length ? kq.join('; ') : '-';
    }
    const ts = st.task;
    for (let t = 0; t < st.nTasks; t++) {
      const wait = ts.kpc[t] !== KPC_USER ? ` waits ${hex(ts.waitToken[t]!)}` : '';
      const act = ts.actKind[t] !== ACT_NONE ? ` [${actionText(st, t)}]` : '';
      out[`task${t}`] = `${TASK_STATE[ts.state[t]!]} cpu${ts.cpu[t]} pc=${ts.pc[t]}${act}${wait}`;
    }
    const nodes: string[] = [];
    const s = st.sleepers;
    forEachSleepNode(s, (_b, n) =>
      nodes.push(
        `${hex(s.token[n]!)}:${isDummy(s, n) ? 'dummy' : n < s.nTaskNodes ? `task${n}` : `idle${n - s.nTaskNodes}`}@cpu${s.cpu[n]}${s.halted[n] ? '(halted)' : ''}`,
      ),
    );
    out.sleepers = nodes.length ? nodes.join(' ') : '-';
  }
}
