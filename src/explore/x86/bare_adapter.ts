// The bare test guest (src/guest/x86/bare/bare_guest.ts) as an explore-world guest: each vCPU runs a fixed
// list of script ops (the subset that executes inside the guest), then idles in `sti; hlt` for ever, as a
// script's final `run` would. The bare guest encodes its own state (src/guest/x86/bare/encode.ts); this
// adapter adds a monitor of the tokens whose 'not present' the guest received and whose page-ready (or a
// wakeup-all) it has not, which is what a bare guest "waits" on.
import { PF_VECTOR } from '../../abi/kvm_host.ts';
import { KVM_PV_REASON_PAGE_NOT_PRESENT, KVM_PV_REASON_PAGE_READY } from '../../abi/kvm_para.ts';
import { BareGuest } from '../../guest/x86/bare/bare_guest.ts';
import { BARE_CPU_WORDS, decodeBareCpu, encodeBareCpu } from '../../guest/x86/bare/encode.ts';
import { deliverInit } from '../../host/x86/init_sipi.ts';
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import type { KvmVm } from '../../host/x86/vm.ts';
import type { Op } from '../../script/schema.ts';
import type { BareGuestSpec } from './config.ts';
import { type GuestAdapter, hex } from './guest_adapter.ts';
import type { EventLog } from './linux_adapter.ts';

const WAKEUP_ALL = 0xffffffff;

const STI: Op = { op: 'sti' };
const IDLE_HLT: Op = { op: 'hlt' };

export class BareAdapter implements GuestAdapter {
  readonly kind = 'bare';
  readonly model: BareGuest;
  readonly words: number;
  readonly coveredWords: readonly number[] = [];
  readonly waiterSlots: number;
  /** Per vCPU: its program followed by `sti` and the idle `hlt`, which repeats. */
  private readonly programs: readonly (readonly Op[])[];
  /** Per vCPU: outstanding tokens (sorted), at most `maxTokens`. */
  private readonly outstanding: number[][];

  constructor(
    private readonly vm: KvmVm,
    spec: BareGuestSpec,
    private readonly maxTokens: number,
    log: EventLog,
  ) {
    const n = vm.vcpus.length;
    this.model = new BareGuest(
      vm,
      spec.handlers,
      {
        op: (r) =>
          log.events?.push(
            `guest vcpu${r.vcpu ?? 0}: op ${r.op} ${r.kind} -> ${r.result}${r.value !== undefined ? ` ${r.value}` : ''}`,
          ),
        event: (r) => log.events?.push(`guest: ${JSON.stringify(r)}`),
      },
      n > 1,
      spec.ack_before_clear,
    );
    this.programs = Array.from({ length: n }, (_, v) => [...(spec.programs[v] ?? []), STI, IDLE_HLT]);
    this.outstanding = Array.from({ length: n }, () => []);
    this.waiterSlots = n;
    this.words = n * (BARE_CPU_WORDS + 1 + maxTokens);
  }

  encode(out: Int32Array, off: number): void {
    let w = off;
    for (const vcpu of this.vm.vcpus) {
      const v = vcpu.vcpu_id;
      w = encodeBareCpu(this.model, vcpu, out, w);
      const o = this.outstanding[v]!;
      out[w++] = o.length;
      for (let k = 0; k < this.maxTokens; k++) out[w++] = k < o.length ? o[k]! | 0 : 0;
    }
  }

  decode(words: Int32Array, off: number): void {
    let w = off;
    for (const vcpu of this.vm.vcpus) {
      const v = vcpu.vcpu_id;
      w = decodeBareCpu(this.model, vcpu, this.programs[v]!, words, w);
      const o = this.outstanding[v]!;
      const n = words[w++]!;
      o.length = 0;
      for (let k = 0; k < this.maxTokens; k++) {
        const t = words[w++]! >>> 0;
        if (k < n) o.push(t);
      }
    }
  }

  /** Fetches the vCPU's next op when it has finished the previous one; the idle `hlt` repeats. */
  beforeRun(vcpu: KvmVcpu): void {
    if (this.model.busy(vcpu)) return;
    const v = vcpu.vcpu_id;
    const prog = this.programs[v]!;
    const next = Math.min(this.model.cpus[v]!.opIndex + 1, prog.length - 1);
    this.model.startOp(vcpu, prog[next]!, next);
  }

  dead(): boolean {
    return false;
  }
  panicked(): boolean {
    return false;
  }
  warnedFlags(): boolean {
    return false;
  }

  waiting(i: number): boolean {
    return this.outstanding[i]!.length > 0;
  }

  /** The monitor keeps one waiter slot per vCPU. */
  waiterVcpu(i: number): number {
    return i;
  }

  /** A handler frame other than a #PF wait is in flight (it may still wake). */
  busy(cpu: number): boolean {
    return this.model.cpus[cpu]!.frames.some((f) => f.kind !== 'pf' || f.pc !== 1);
  }

  dummies(): number {
    return 0;
  }
  leakedDummies(): number {
    return 0;
  }

  /** INIT (as the bare `init` op, but from outside): the op in progress and its handlers are abandoned. */
  initCpu(vcpu: KvmVcpu): void {
    const v = vcpu.vcpu_id;
    deliverInit(this.vm, vcpu);
    // An INIT from outside interrupts the op in flight (a program's own `init` op is itself the op).
    this.model.abandonOp(vcpu);
    this.outstanding[v]!.length = 0;
  }

  /** The APF area the host writes to (its hva cache), else the guest's own idea of it. */
  private areaOf(vcpu: KvmVcpu): number {
    const d = vcpu.apf.data;
    if (d.valid) return d.gpa;
    const a = this.model.area[vcpu.vcpu_id]!;
    return a >= 0 && this.vm.mem.contains(a, 8) ? a : -1;
  }

  private add(v: number, token: number): void {
    const o = this.outstanding[v]!;
    if (o.includes(token)) return;
    if (o.length >= this.maxTokens)
      throw new RangeError(`bare vcpu ${v}: more than ${this.maxTokens} outstanding tokens`);
    o.push(token);
    o.sort((a, b) => a - b);
  }

  private remove(v: number, token: number): void {
    const o = this.outstanding[v]!;
    if (token === WAKEUP_ALL) o.length = 0;
    else {
      const i = o.indexOf(token);
      if (i >= 0) o.splice(i, 1);
    }
  }

  /** The monitor: a #PF with reason 1 opens a wait on CR2, one with reason 2 (≤5.7) closes it. */
  onException(vcpu: KvmVcpu, vector: number): void {
    if (vector !== PF_VECTOR) return;
    const a = this.areaOf(vcpu);
    if (a < 0) return;
    const flags = this.vm.mem.readU32(a);
    if (flags === KVM_PV_REASON_PAGE_NOT_PRESENT) this.add(vcpu.vcpu_id, vcpu.cr2 >>> 0);
    else if (flags === KVM_PV_REASON_PAGE_READY) this.remove(vcpu.vcpu_id, vcpu.cr2 >>> 0);
  }

  /** The monitor: the page-ready interrupt closes the wait on the slot's token. */
  onInterrupt(vcpu: KvmVcpu, vector: number): void {
    if (vector !== vcpu.apf.vec) return;
    const a = this.areaOf(vcpu);
    if (a < 0) return;
    const token = this.vm.mem.readU32(a + 4);
    if (token !== 0) this.remove(vcpu.vcpu_id, token);
  }

  onNestedPfVmexit(vcpu: KvmVcpu, token: number): void {
    this.add(vcpu.vcpu_id, token >>> 0);
  }

  nextAction(vcpu: KvmVcpu): string {
    const v = vcpu.vcpu_id;
    const c = this.model.cpus[v]!;
    const f = c.frames[c.frames.length - 1];
    if (f !== undefined) return `${f.kind} handler pc ${f.pc}`;
    const prog = this.programs[v]!;
    const idx = c.op !== null ? c.opIndex : Math.min(c.opIndex + 1, prog.length - 1);
    const op = prog[idx]!;
    const what = idx === prog.length - 1 ? 'idle hlt' : opText(op);
    return c.op !== null && c.phase === 1 ? `${what} (report)` : what;
  }

  describe(out: Record<string, string | number | boolean>): void {
    for (let v = 0; v < this.model.cpus.length; v++) {
      const c = this.model.cpus[v]!;
      const prog = this.programs[v]!;
      out[`guest${v}.op`] =
        c.opIndex < 0
          ? '-'
          : `${c.opIndex === prog.length - 1 ? 'idle hlt' : `#${c.opIndex} ${opText(prog[c.opIndex]!)}`}${c.op === null ? ' done' : c.phase === 1 ? ' (report)' : ''}`;
      out[`guest${v}.frames`] =
        c.frames
          .map(
            (f) => `${f.kind}@${f.pc}${f.kind === 'pf' ? `(${hex(f.token)}${f.ready ? ',ready' : ''})` : ''}`,
          )
          .join(' ') || '-';
      out[`guest${v}.waits`] = this.outstanding[v]!.map(hex).join(' ') || '-';
      const a = this.model.area[v]!;
      if (a >= 0 && this.vm.mem.contains(a, 8))
        out[`guest${v}.area`] =
          `flags=${hex(this.vm.mem.readU32(a))} token=${hex(this.vm.mem.readU32(a + 4))}`;
    }
  }
}

function opText(op: Op): string {
  switch (op.op) {
    case 'wrmsr':
      return `wrmsr ${hex(op.msr)}=${`0x${op.value.toString(16)}`}`;
    case 'touch':
      return `touch ${`0x${op.gpa.toString(16)}`} cpl${op.cpl}${op.retry ? '' : ' (no retry)'}`;
    default:
      return op.op;
  }
}
