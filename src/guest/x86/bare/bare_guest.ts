// The bare test guest of `kind: script` scenarios: like kvm-unit-tests or the oracle's interpreter guest,
// it executes one script op at a time on a vCPU and has a #PF handler and interrupt handlers whose
// behaviour the script configures. Every instruction is one `step`, so host steps can interleave.
import { APIC_EOI } from '../../../abi/apicdef.ts';
import { GP_VECTOR, PF_VECTOR } from '../../../abi/kvm_host.ts';
import {
  KVM_PV_REASON_PAGE_READY,
  MSR_KVM_ASYNC_PF_ACK,
  MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_ASYNC_PF_INT,
} from '../../../abi/kvm_para.ts';
import { kvm_emulate_cpuid } from '../../../host/x86/cpuid.ts';
import { kvm_queue_exception_e, TRIPLE_FAULT } from '../../../host/x86/exception.ts';
import { kvm_emulate_hypercall_op } from '../../../host/x86/hypercall.ts';
import { deliverInit } from '../../../host/x86/init_sipi.ts';
import { apic_x2apic_mode } from '../../../host/x86/lapic.ts';
import { kvm_guest_access_spte, kvm_mmu_do_page_fault, RET_PF_RETRY } from '../../../host/x86/mmu_fault.ts';
import { emulator_leave_smm, enter_smm } from '../../../host/x86/smm.ts';
import {
  EXIT_REASON_CPUID,
  EXIT_REASON_CR_ACCESS,
  EXIT_REASON_IO_INSTRUCTION,
  EXIT_REASON_VMCALL,
  EXIT_REASON_VMRESUME,
} from '../../../host/x86/trace.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import type { GuestModel, KvmVm } from '../../../host/x86/vm.ts';
import {
  kvm_emulate_halt,
  kvm_emulate_rdmsr,
  kvm_emulate_wrmsr,
  kvm_lapic_write,
  kvm_set_cr0_pg,
  kvm_vmexit,
  kvm_vmexit_reason,
} from '../../../host/x86/x86.ts';
import { gpaToGfn } from '../../../mem/guest_memory.ts';
import { PAGE_SPTE_MAPPED } from '../../../mem/page_state.ts';
import type { Handlers, Op, PageFaultAction, PageReadyAction } from '../ops.ts';
import { type EventRecord, hex, type OpRecord } from '../records.ts';

export type FrameKind = 'pf' | 'irq' | 'gp' | 'vmexit';

export interface Frame {
  kind: FrameKind;
  vector: number;
  pc: number;
  /** Interrupted context's IF and CPL, restored by IRET. */
  savedIf: boolean;
  savedCpl: number;
  /** #PF: the flags read at entry and the token (CR2) it waits for. */
  flags: number;
  token: number;
  ready: boolean;
}

export interface BareCpu {
  frames: Frame[];
  /** The op being executed, or null when idle. */
  op: Op | null;
  opIndex: number;
  /** 0: execute the op's instruction; 1: report (the op is done after this). */
  phase: number;
  result: OpRecord['result'];
  value: bigint | undefined;
  /** The op's instruction faulted (#GP) and the fault has not been delivered yet. */
  faulted: boolean;
}

export interface BareGuestSink {
  op(rec: OpRecord): void;
  event(rec: EventRecord): void;
}

/** The guest of a script. `area` and `pageReadyVector` follow the script's own EN/INT writes. */
export class BareGuest implements GuestModel {
  /** Per vCPU: the op in flight and the handler frames (encoded for the explorer by encode.ts). */
  readonly cpus: BareCpu[];
  /** The APF area the test guest uses (from the last EN write, guest or host), or -1. */
  area: number[];
  /** The vector of its page-ready handler (from the last INT write). */
  pageReadyVector: number[];
  /** The interrupt handler's micro-ops, in order. */
  private readonly irqProgram: ReadonlyArray<'eoi' | 'wake' | 'clear' | 'ack' | 'iret'>;
  /**
   * Guest-programmed handlers (handlers.*.actions; kvm-unit-tests' asyncpf): per vCPU the token its #PF
   * handler saved and the page it unmapped (kut's `phys`; -1 when none), and the guest pages whose PTE is
   * clear (one page table for all vCPUs; the guest is identity-mapped). Empty unless a script uses them.
   */
  readonly savedToken: number[];
  readonly unmappedGfn: number[];
  readonly guestPteClear = new Set<number>();

  constructor(
    private vm: KvmVm,
    private readonly handlers: Handlers,
    private readonly sink: BareGuestSink,
    private readonly multiVcpu: boolean,
    /** The guest-side bug switch `ack-before-clear`. */
    ackBeforeClear = false,
  ) {
    const n = vm.vcpus.length;
    this.cpus = Array.from({ length: n }, () => ({
      frames: [],
      op: null,
      opIndex: -1,
      phase: 0,
      result: 'ok' as const,
      value: undefined,
      faulted: false,
    }));
    this.area = new Array<number>(n).fill(-1);
    this.pageReadyVector = new Array<number>(n).fill(-1);
    this.savedToken = new Array<number>(n).fill(0);
    this.unmappedGfn = new Array<number>(n).fill(-1);
    const eoi = handlers.page_ready.eoi;
    this.irqProgram = [
      ...(eoi === 'first' ? (['eoi'] as const) : []),
      'wake',
      ...(ackBeforeClear ? (['ack', 'clear'] as const) : (['clear', 'ack'] as const)),
      ...(eoi === 'last' ? (['eoi'] as const) : []),
      'iret',
    ];
  }

  /**
   * Migration: the guest (its memory and registers) now runs on `vm`, the destination; its handler state
   * and op position travel with it (they are guest memory and registers).
   */
  migrateTo(vm: KvmVm): void {
    this.vm = vm;
  }

  /** Starts executing `op` on `vcpu` (the runner then steps until `busy` is false). */
  startOp(vcpu: KvmVcpu, op: Op, index: number): void {
    const c = this.cpus[vcpu.vcpu_id]!;
    c.op = op;
    c.opIndex = index;
    c.phase = 0;
    c.result = 'ok';
    c.value = undefined;
    c.faulted = false;
  }

  /** An op or a handler is in progress on this vCPU. */
  busy(vcpu: KvmVcpu): boolean {
    const c = this.cpus[vcpu.vcpu_id]!;
    return c.op !== null || c.frames.length > 0;
  }

  /** The op in progress, for reporting a hang. */
  currentOp(vcpu: KvmVcpu): { op: Op; index: number } | null {
    const c = this.cpus[vcpu.vcpu_id]!;
    return c.op === null ? null : { op: c.op, index: c.opIndex };
  }

  /** INIT: the test guest forgets its area and page-ready vector (its op list goes on). */
  onInit(vcpu: KvmVcpu): void {
    this.area[vcpu.vcpu_id] = -1;
    this.pageReadyVector[vcpu.vcpu_id] = -1;
  }

  /** SIPI: the test guest has no startup trampoline; its op list goes on. */
  onSipi(_vcpu: KvmVcpu): void {}

  /** Abandons the op in progress (the runner reports it as hung). */
  abandonOp(vcpu: KvmVcpu): void {
    const c = this.cpus[vcpu.vcpu_id]!;
    c.op = null;
    c.frames.length = 0;
  }

  /** Records an EN/INT value the script wrote, so handlers know the area and the vector. */
  noteMsrWrite(vcpu: KvmVcpu, msr: number, value: bigint): void {
    // A disable (EN = 0) does not move the test guest's area: its handlers keep reading it.
    if (msr === MSR_KVM_ASYNC_PF_EN && value !== 0n)
      this.area[vcpu.vcpu_id] = Number(value & 0xf_ffff_ffff_ffc0n);
    if (msr === MSR_KVM_ASYNC_PF_INT) this.pageReadyVector[vcpu.vcpu_id] = Number(value & 0xffn);
  }

  deliverException(vcpu: KvmVcpu, vector: number, errorCode: number): void {
    const c = this.cpus[vcpu.vcpu_id]!;
    if (vector === GP_VECTOR && c.op !== null && c.phase === 0 && c.faulted) {
      // The #GP handler reports and skips the faulting instruction.
      c.result = '#GP';
      c.faulted = false;
      c.phase = 1;
      return;
    }
    if (vector === TRIPLE_FAULT) {
      this.emit(vcpu, { event: 'shutdown', reason: 'triple fault' });
      this.abandonOp(vcpu);
      return;
    }
    if (vector !== PF_VECTOR) {
      // #DF and anything unexpected: reported; the handler returns.
      this.emit(vcpu, { event: 'exception', vector: hex(vector), error_code: hex(errorCode) });
      this.push(vcpu, 'gp', vector);
      return;
    }
    this.push(vcpu, 'pf', vector);
    const f = c.frames[c.frames.length - 1]!;
    f.token = vcpu.cr2;
    f.flags = this.readArea(vcpu, 0);
    this.emit(vcpu, {
      event: '#PF',
      cr2: hex(vcpu.cr2),
      error_code: hex(errorCode),
      ...(f.flags >= 0 ? { flags: hex(f.flags) } : {}),
    });
    // ≤5.7 'page ready' is a #PF with reason 2 (x86-apf §5.1): it wakes the waiter of token CR2.
    if (f.flags === KVM_PV_REASON_PAGE_READY) this.wake(c, vcpu.cr2);
  }

  deliverInterrupt(vcpu: KvmVcpu, vector: number): void {
    this.push(vcpu, 'irq', vector);
    const flags = this.readArea(vcpu, 0);
    const token = this.readArea(vcpu, 4);
    // A guest-programmed handler works on the token it read at entry (kut: `apf_token`).
    if (this.handlers.page_ready.actions !== undefined) {
      const c = this.cpus[vcpu.vcpu_id]!;
      c.frames[c.frames.length - 1]!.token = token;
    }
    this.emit(vcpu, {
      event: 'irq',
      vector: hex(vector),
      ...(token >= 0 ? { token: hex(token) } : {}),
      ...(flags >= 0 ? { flags: hex(flags) } : {}),
    });
  }

  /**
   * A #PF VM-exit from L2 to L1 carrying the token (x86-apf §3.13): L1 (this guest) reads its flags,
   * waits for the page-ready of the token like its own #PF handler, then resumes L2, which retries.
   */
  deliverNestedPfVmexit(vcpu: KvmVcpu, faultAddress: number): void {
    const c = this.cpus[vcpu.vcpu_id]!;
    this.push(vcpu, 'vmexit', PF_VECTOR);
    vcpu.guest_mode = false;
    const f = c.frames[c.frames.length - 1]!;
    f.token = faultAddress;
    f.flags = this.readArea(vcpu, 0);
    this.emit(vcpu, {
      event: 'pf_vmexit',
      address: hex(faultAddress),
      ...(f.flags >= 0 ? { flags: hex(f.flags) } : {}),
    });
  }

  step(vcpu: KvmVcpu): boolean {
    const c = this.cpus[vcpu.vcpu_id]!;
    vcpu.interrupt_shadow = false; // the shadow covered the entry just made
    const f = c.frames[c.frames.length - 1];
    if (f !== undefined) {
      if (f.kind === 'pf' || f.kind === 'vmexit') this.stepPf(vcpu, c, f);
      else if (f.kind === 'irq') this.stepIrq(vcpu, c, f);
      else this.iret(vcpu, c);
      return true;
    }
    if (c.op === null) return false;
    if (c.phase === 1) {
      this.report(vcpu, c);
      return true;
    }
    if (!c.faulted) this.execute(vcpu, c, c.op);
    return true;
  }

  private push(vcpu: KvmVcpu, kind: FrameKind, vector: number): void {
    this.cpus[vcpu.vcpu_id]!.frames.push({
      kind,
      vector,
      pc: 0,
      savedIf: vcpu.rflags_if,
      savedCpl: vcpu.cpl,
      flags: -1,
      token: 0,
      ready: false,
    });
    // Interrupt/trap gate: IF cleared, handler at CPL 0.
    vcpu.rflags_if = false;
    vcpu.cpl = 0;
  }

  private iret(vcpu: KvmVcpu, c: BareCpu): void {
    const f = c.frames.pop()!;
    vcpu.rflags_if = f.savedIf;
    vcpu.cpl = f.savedCpl;
    if (f.kind === 'vmexit') vcpu.guest_mode = true; // VMRESUME
  }

  /** Marks the #PF (or nested) waiters of `token` (or all, for a wakeup-all) ready. */
  private wake(c: BareCpu, token: number): void {
    for (const w of c.frames)
      if ((w.kind === 'pf' || w.kind === 'vmexit') && (w.token === token || token === 0xffffffff))
        w.ready = true;
  }

  /** A u32 of the test guest's APF area, or -1 when it has none. */
  private readArea(vcpu: KvmVcpu, offset: number): number {
    const a = this.area[vcpu.vcpu_id]!;
    if (a < 0 || !this.vm.mem.contains(a + offset, 4)) return -1;
    return this.vm.mem.readU32(a + offset);
  }

  private writeArea(vcpu: KvmVcpu, offset: number, value: number): void {
    const a = this.area[vcpu.vcpu_id]!;
    if (a >= 0 && this.vm.mem.contains(a + offset, 4)) this.vm.mem.writeU32(a + offset, value);
  }

  // #PF handler: pc 0 clear flags; pc 1 wait (cli; test; sti; hlt) for the page-ready of its token;
  // pc 2 iret (the faulting access is retried).
  private stepPf(vcpu: KvmVcpu, c: BareCpu, f: Frame): void {
    const h = this.handlers.page_fault;
    if (h.not_present !== undefined && f.flags === 1 && f.kind === 'pf') {
      this.stepPfActions(vcpu, c, f, h.not_present);
      return;
    }
    switch (f.pc) {
      case 0: {
        if (h.clear_flags) this.writeArea(vcpu, 0, 0);
        const op = c.op;
        if (f.flags === 1 && op?.op === 'touch' && !op.retry && c.phase === 0) {
          // The access is abandoned: the op completes with the token; its page-ready comes later.
          c.phase = 1;
          c.value = BigInt(f.token);
          f.savedCpl = 0;
          f.pc = 2;
          return;
        }
        f.pc = f.flags === 1 && h.wait_for_ready ? 1 : 2;
        return;
      }
      case 1:
        if (f.ready) {
          vcpu.rflags_if = false;
          f.pc = 2;
          return;
        }
        // sti; hlt as one step: STI's shadow covers the HLT, so no interrupt slips in between, and
        // the shadow is over once HLT has executed.
        vcpu.rflags_if = true;
        kvm_emulate_halt(vcpu, this.vm);
        return;
      default:
        this.iret(vcpu, c);
    }
  }

  /** A guest-programmed 'page not present' handler: one action a step, then IRET. */
  private stepPfActions(vcpu: KvmVcpu, c: BareCpu, f: Frame, actions: readonly PageFaultAction[]): void {
    const v = vcpu.vcpu_id;
    const a = actions[f.pc];
    switch (a) {
      case 'clear_flags':
        this.writeArea(vcpu, 0, 0);
        break;
      case 'save_token':
        this.savedToken[v] = f.token;
        break;
      case 'unmap': {
        // kut: virt = the page of buf + i, the access the #PF interrupted (CR2 holds the token).
        const op = c.op;
        if (op?.op === 'touch') {
          const gfn = gpaToGfn(Number(op.gpa));
          this.guestPteClear.add(gfn);
          this.unmappedGfn[v] = gfn;
          this.emit(vcpu, { event: 'unmap', address: hex(gfn * 4096) });
        }
        break;
      }
      case 'reload_cr3':
        kvm_vmexit(vcpu); // as the set_cr3 op: MOV CR3 of the same value
        break;
      case 'wait_ready':
        if (!f.ready) {
          vcpu.rflags_if = true; // sti; hlt (the shadow covers the HLT)
          kvm_emulate_halt(vcpu);
          return;
        }
        vcpu.rflags_if = false;
        break;
      case 'wait_remapped':
        // while (phys) safe_halt(); — IF stays set after the loop, as safe_halt leaves it.
        if (this.unmappedGfn[v]! >= 0) {
          vcpu.rflags_if = true;
          kvm_emulate_halt(vcpu);
          return;
        }
        break;
      default:
        this.iret(vcpu, c);
        return;
    }
    f.pc++;
  }

  /** A guest-programmed interrupt handler: one action a step on the token read at entry, then IRET. */
  private stepIrqActions(vcpu: KvmVcpu, c: BareCpu, f: Frame, actions: readonly PageReadyAction[]): void {
    const v = vcpu.vcpu_id;
    const pageReady = f.vector === this.pageReadyVector[v];
    const a = actions[f.pc++];
    switch (a) {
      case 'eoi':
        this.eoi(vcpu);
        return;
      case 'wake':
        if (pageReady) this.wake(c, f.token);
        return;
      case 'clear_token':
        if (pageReady) this.writeArea(vcpu, 4, 0);
        return;
      case 'ack':
        if (pageReady) this.ack(vcpu);
        return;
      case 'remap': {
        if (!pageReady || f.token === -1 || f.token >>> 0 === 0xffffffff) return;
        const token = f.token >>> 0;
        if (token !== this.savedToken[v]) {
          this.emit(vcpu, { event: 'unexpected_token', token: hex(token) });
          return;
        }
        const gfn = this.unmappedGfn[v]!;
        if (gfn >= 0) this.guestPteClear.delete(gfn);
        this.unmappedGfn[v] = -1;
        this.emit(vcpu, {
          event: 'remap',
          token: hex(token),
          ...(gfn >= 0 ? { address: hex(gfn * 4096) } : {}),
        });
        return;
      }
      default:
        this.iret(vcpu, c);
    }
  }

  private ack(vcpu: KvmVcpu): void {
    const v = this.handlers.page_ready.ack;
    if (v === false) return;
    const ok = kvm_emulate_wrmsr(this.vm, vcpu, MSR_KVM_ASYNC_PF_ACK, v);
    this.emit(vcpu, { event: 'ack', value: hex(v), result: ok ? 'ok' : '#GP' });
  }

  /**
   * Interrupt handler, one micro-op per step: EOI (if `eoi: first`, as Linux does), wake the #PF waiter,
   * clear the token, ACK, EOI (if `eoi: last`), IRET. The ack-before-clear bug swaps clear and ACK.
   */
  private stepIrq(vcpu: KvmVcpu, c: BareCpu, f: Frame): void {
    const h = this.handlers.page_ready;
    if (h.actions !== undefined) {
      this.stepIrqActions(vcpu, c, f, h.actions);
      return;
    }
    const pageReady = f.vector === this.pageReadyVector[vcpu.vcpu_id];
    const op = this.irqProgram[f.pc++]!;
    switch (op) {
      case 'eoi':
        this.eoi(vcpu);
        return;
      case 'wake':
        if (pageReady) this.wake(c, this.readArea(vcpu, 4));
        return;
      case 'clear':
        if (pageReady && h.clear_token) this.writeArea(vcpu, 4, 0);
        return;
      case 'ack':
        if (pageReady) this.ack(vcpu);
        return;
      default:
        this.iret(vcpu, c);
    }
  }

  private eoi(vcpu: KvmVcpu): void {
    if (apic_x2apic_mode(vcpu.apic)) kvm_emulate_wrmsr(this.vm, vcpu, 0x80b, 0n);
    else kvm_lapic_write(this.vm, vcpu, APIC_EOI, 0);
  }

  private report(vcpu: KvmVcpu, c: BareCpu): void {
    const op = c.op!;
    const rec: OpRecord = {
      op: c.opIndex,
      kind: op.op,
      ...(this.multiVcpu ? { vcpu: vcpu.vcpu_id } : {}),
      result: c.result,
    };
    if (c.value !== undefined) rec.value = hex(c.value);
    this.sink.op(rec);
    c.op = null;
    // The report is an exit to userspace (port I/O; traced as IO_INSTRUCTION, qualification unknown: 0).
    kvm_vmexit_reason(this.vm, vcpu, EXIT_REASON_IO_INSTRUCTION);
  }

  /** The op's own instruction. On success it moves to the report phase. */
  private execute(vcpu: KvmVcpu, c: BareCpu, op: Op): void {
    const vm = this.vm;
    const fault = (): void => {
      c.faulted = true;
      kvm_queue_exception_e(vcpu, GP_VECTOR, 0);
    };
    c.phase = 1;
    switch (op.op) {
      case 'wrmsr':
        this.noteMsrWrite(vcpu, op.msr, op.value);
        if (!kvm_emulate_wrmsr(vm, vcpu, op.msr, op.value)) {
          c.phase = 0;
          fault();
        }
        return;
      case 'rdmsr': {
        const v = kvm_emulate_rdmsr(vm, vcpu, op.msr);
        if (v === null) {
          c.phase = 0;
          fault();
        } else c.value = v;
        return;
      }
      case 'write_mem':
        if (!vm.mem.write(Number(op.gpa), op.size, op.value)) c.result = '#GP';
        return;
      case 'read_mem': {
        const v = vm.mem.read(Number(op.gpa), op.size);
        if (v === null) c.result = '#GP';
        else c.value = v;
        return;
      }
      case 'apic_enable': {
        const base =
          0xfee00000n |
          (1n << 11n) |
          (vcpu.vcpu_id === 0 ? 1n << 8n : 0n) |
          (op.mode === 'x2apic' ? 1n << 10n : 0n);
        const ok =
          kvm_emulate_wrmsr(vm, vcpu, 0x1b, base) &&
          (op.mode === 'x2apic'
            ? kvm_emulate_wrmsr(vm, vcpu, 0x80f, 0x1ffn)
            : kvm_lapic_write(vm, vcpu, 0xf0, 0x1ff));
        if (!ok) {
          c.phase = 0;
          fault();
        }
        return;
      }
      case 'sti':
        vcpu.rflags_if = true;
        vcpu.interrupt_shadow = true;
        return;
      case 'cli':
        vcpu.rflags_if = false;
        return;
      case 'hlt':
        kvm_emulate_halt(vcpu, vm);
        return;
      case 'touch': {
        const gpa = Number(op.gpa);
        const gfn = gpaToGfn(gpa);
        if (this.guestPteClear.size > 0 && this.guestPteClear.has(gfn)) {
          // The guest's own page fault (its PTE is clear; no exit with TDP): the handler sees flags 0,
          // which kvm-unit-tests reports as "unexpected #PF" and exits; the op ends with #PF.
          vcpu.cr2 = gpa;
          const flags = this.readArea(vcpu, 0);
          this.emit(vcpu, {
            event: '#PF',
            cr2: hex(gpa),
            error_code: hex((op.write ? 2 : 0) | (op.cpl === 3 ? 4 : 0)),
            ...(flags >= 0 ? { flags: hex(flags) } : {}),
          });
          c.result = '#PF';
          return;
        }
        if (kvm_guest_access_spte(vm, vcpu, gfn, op.write)) {
          vcpu.cpl = 0;
          return;
        }
        // The access runs at the op's CPL (iretq to user mode for CPL 3) and exits to the host MMU.
        vcpu.cpl = op.cpl;
        const r = kvm_mmu_do_page_fault(vm, vcpu, gpa, op.write ? 2 : 0, false);
        if (r === RET_PF_RETRY || (gfn < vm.mem.npages && !(vm.mem.pageState[gfn]! & PAGE_SPTE_MAPPED))) {
          c.phase = 0; // re-executed after the #PF handler returns or the halt ends
          return;
        }
        vcpu.cpl = 0;
        return;
      }
      case 'set_cr0_pg':
        kvm_vmexit_reason(vm, vcpu, EXIT_REASON_CR_ACCESS, 0); // MOV to CR0
        kvm_set_cr0_pg(vm, vcpu, op.value);
        return;
      case 'set_cr3':
        kvm_vmexit_reason(vm, vcpu, EXIT_REASON_CR_ACCESS, 3); // MOV to CR3
        vcpu.cr3 = Number(op.value);
        return;
      case 'smi':
        // SMM entry saves CR0.PG, IF and CPL and clears them (≤6.17 this clears the APF queue); the
        // program's next ops are the SMM handler, up to its `rsm`.
        enter_smm(vm, vcpu, false);
        return;
      case 'rsm':
        emulator_leave_smm(vm, vcpu);
        return;
      case 'enter_l2':
        kvm_vmexit_reason(vm, vcpu, EXIT_REASON_VMRESUME); // VMLAUNCH/VMRESUME is emulated by L0
        vcpu.guest_mode = true;
        return;
      case 'leave_l2':
        kvm_vmexit(vcpu);
        vcpu.guest_mode = false;
        return;
      case 'init':
        deliverInit(vm, vcpu); // a self-INIT: the op completes, the program goes on
        return;
      case 'cpuid':
        kvm_vmexit_reason(vm, vcpu, EXIT_REASON_CPUID); // CPUID always exits
        c.value = BigInt(kvm_emulate_cpuid(vm, vcpu, op.leaf, op.reg) ?? 0);
        return;
      case 'hypercall':
        // VMCALL/VMMCALL exits; 64-bit mode (long mode here: paging on) keeps 64-bit arguments.
        kvm_vmexit_reason(vm, vcpu, EXIT_REASON_VMCALL);
        c.value = kvm_emulate_hypercall_op(vm, vcpu, op.nr, op.args, vcpu.cr0_pg);
        return;
      default:
        throw new Error(`bare guest: op ${op.op} is not a guest instruction`);
    }
  }

  private emit(vcpu: KvmVcpu, rec: EventRecord): void {
    this.sink.event(this.multiVcpu ? ({ ...rec, vcpu: vcpu.vcpu_id } as EventRecord) : rec);
  }
}
