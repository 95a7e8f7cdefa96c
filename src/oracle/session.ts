// Runs a script's ops on a Machine and turns the guest's MMIO reports into transcript records. This is
// the host half of the guest/host protocol in protocol.inc; it holds no APF logic of its own: every
// outcome is what the kernel did, as the guest saw it.
//
// Per guest op: write the op into the vCPU's block, KVM_RUN until the guest reports R_READY again, and
// emit records in report order: events during the op (interrupts the op raised, a #PF and its
// page-ready), the op's record (R_OK/R_GP), then interrupts taken after it (what `sti` let in). Host
// ops (host_set_msr/host_get_msr) run while every vCPU is parked at R_READY.
import { APIC_SPIV, APIC_TASKPRI } from '../abi/apicdef.ts';
import { MSR_KVM_ASYNC_PF_EN } from '../abi/kvm_para.ts';
import {
  type HostMmOp,
  isHostMmOp,
  isMapOp,
  isMigrationOp,
  isPressureOp,
  type Op,
  type Script,
} from '../script/schema.ts';
import { type EventRecord, hex, type OpRecord, type TranscriptRecord } from '../script/transcript.ts';
import { delayMs } from './delay.ts';
import { DelayedBacking } from './delayed_backing.ts';
import { type Libc, MADV_DONTNEED } from './ffi.ts';
import { GuestBlock, type HandlerConfig, type OpRequest } from './guest_block.ts';
import { GuestApfView, handlerConfig } from './guest_knowledge.ts';
import { protocol as P } from './guests/blobs.ts';
import { blockGpa, createMachine, type GuestKind, type Machine } from './machine.ts';
import { MmuObserver } from './mmu_observer.ts';
import { KvmError, type VcpuExit } from './vm.ts';

export interface SessionOptions {
  device: string;
  guest: GuestKind;
  /** How long an op may make no progress before the watchdog calls it a hang (beyond its delays). */
  hangMs: number;
  /** How long `run` keeps polling after the last UFFDIO_COPY, for the page-ready to arrive. */
  settleMs: number;
  onRecord(r: TranscriptRecord): void;
  /** Called before each op with the time it may take; the parent's watchdog uses it. */
  onOp(index: number, kind: string, budgetMs: number): void;
}

export type SessionEnd = { end: 'completed' } | { end: 'hang'; op: number; reason: string };

/** Ends the script early: the guest panicked, or an op provably never completes. */
class Stop extends Error {
  constructor(readonly outcome: SessionEnd) {
    super('stop');
  }
}

export async function runSession(libc: Libc, script: Script, opts: SessionOptions): Promise<SessionEnd> {
  const machine = createMachine(libc, opts.device, script.vm, opts.guest);
  const session = new Session(libc, machine, script, opts);
  try {
    return await session.run();
  } catch (e) {
    if (e instanceof Stop) return e.outcome;
    throw e;
  } finally {
    session.close();
  }
}

class Session {
  private readonly multi: boolean;
  private readonly views: GuestApfView[];
  private readonly blocks: GuestBlock[];
  private readonly started: boolean[];
  private readonly handlers: HandlerConfig;
  private backing: DelayedBacking | null = null;
  /** vm.mmu_notifiers: KVM's statistics around the ops (pf_taken, pages_4k) and the refaults. */
  private readonly mmu: MmuObserver | null;

  constructor(
    private readonly libc: Libc,
    private readonly m: Machine,
    private readonly script: Script,
    private readonly opts: SessionOptions,
  ) {
    const n = script.vm.vcpus;
    this.multi = n > 1;
    this.views = Array.from({ length: n }, () => new GuestApfView(script.vm.memory));
    this.blocks = Array.from({ length: n }, (_, i) => new GuestBlock(m.priv, m.blockOffset(i)));
    this.started = Array.from({ length: n }, () => false);
    this.handlers = handlerConfig(script.handlers, script.bugs);
    this.mmu = script.vm.mmu_notifiers ? MmuObserver.open(libc, m) : null;
  }

  async run(): Promise<SessionEnd> {
    if (this.mmu) await this.warmUp();
    for (const [i, op] of this.script.ops.entries()) {
      if (isHostMmOp(op)) this.hostMmOp(i, op);
      else if (isMapOp(op)) throw new Error(`op ${i} (${op.op}): the plan skips guest-mapping scripts`);
      else if (isMigrationOp(op) || isPressureOp(op))
        throw new Error(`op ${i} (${op.op}): the plan skips migration and host_evict scripts`);
      else await this.runOp(i, op);
    }
    if (this.mmu) this.opts.onRecord(this.mmu.statRecord());
    return { end: 'completed' };
  }

  close(): void {
    this.mmu?.close();
    this.backing?.close();
    this.m.close();
  }

  /**
   * Before the first op of a vm.mmu_notifiers script: every vCPU starts and does one CPL3 read of its
   * own block in the private memslot, so that the shadow MMU has mapped what the CPL3 path itself
   * touches (the user code page and that block). Then KVM's pf_taken is the baseline: from here on it
   * counts the faults of the script's own accesses, as the model's does (its guest has no code pages).
   */
  private async warmUp(): Promise<void> {
    for (let v = 0; v < this.m.vcpus.length; v++) {
      this.opts.onOp(-1, 'warm-up', this.opts.hangMs);
      const req: OpRequest = { opcode: P.OP_TOUCH, a: BigInt(blockGpa(v)), c: P.TOUCH_CPL3 };
      await this.guestOp(-1, { op: 'touch', gpa: BigInt(blockGpa(v)) } as Op, v, req, false);
    }
    this.mmu!.baseline();
  }

  /**
   * A host memory operation while every vCPU is parked. Only host_dontneed is implemented (the planner
   * skips the others): madvise(MADV_DONTNEED) on the range of guest RAM's host mapping. The range is
   * registered with the userfaultfd first (MISSING mode), so the next access to a dropped page is a
   * MISSING event the backend serves (with zeros, what an anonymous page holds after DONTNEED): the
   * kernel's refault, recorded as a `uffd` record. `zapped` is how much KVM's `pages_4k` (4 KiB leaf
   * SPTEs present) fell over the madvise: the SPTEs the invalidation zapped.
   */
  private hostMmOp(i: number, op: HostMmOp): void {
    if (op.op !== 'host_dontneed' || op.gpa === undefined)
      throw new Error(`op ${i} (${op.op}): the kvm backend implements host_dontneed only`);
    this.opts.onOp(i, op.op, this.opts.hangMs);
    const start = Number(op.gpa) - (Number(op.gpa) % 4096);
    const len = op.pages * 4096;
    this.backingFor().register(start, len);
    const before = this.mmu!.spte4k();
    if (this.libc.madvise(this.m.ram.addr + BigInt(start), len, MADV_DONTNEED) !== 0)
      throw new Error(`op ${i} (${op.op}): madvise(MADV_DONTNEED) failed (errno ${this.libc.errno()})`);
    const zapped = Number(before - this.mmu!.spte4k());
    this.opts.onRecord({ op: i, kind: op.op, result: 'ok', zapped });
  }

  private vcpuField(v: number): { vcpu?: number } {
    return this.multi ? { vcpu: v } : {};
  }

  /**
   * An event record, with `vcpu` last when the VM has several: the key order of the model's bare guest
   * (`kvmsim diff` compares records as JSON text).
   */
  private emit(v: number, r: EventRecord): void {
    this.opts.onRecord(this.multi ? ({ ...r, vcpu: v } as EventRecord) : r);
  }

  private opRecord(i: number, op: Op, result: OpRecord['result'], value?: bigint): OpRecord {
    const r: OpRecord = { op: i, kind: op.op, ...this.vcpuField(op.vcpu ?? 0), result };
    if (value !== undefined) r.value = hex(value);
    return r;
  }

  private async runOp(i: number, op: Op): Promise<void> {
    const v = op.vcpu ?? 0;
    const vcpu = this.m.vcpus[v];
    if (!vcpu) throw new Error(`op ${i} names vCPU ${v}, but the VM has ${this.m.vcpus.length}`);
    const view = this.views[v]!;
    const pendingMs = this.backing?.maxOutstandingDelayMs() ?? 0;
    switch (op.op) {
      case 'host_set_msr': {
        this.opts.onOp(i, op.op, this.opts.hangMs + pendingMs);
        const entry = [{ index: op.msr, data: op.value }];
        const n = this.backing ? await vcpu.setMsrsAsync(entry) : vcpu.setMsrs(entry);
        if (n === 1) view.noteWrite(op.msr, op.value);
        this.opts.onRecord(this.opRecord(i, op, n === 1 ? 'ok' : 'rejected'));
        if (n === 1) this.afterMsrWrite(op.msr, op.value);
        return;
      }
      case 'host_set_msrs': {
        // One KVM_SET_MSRS with every entry: KVM stops at the first it does not process.
        this.opts.onOp(i, op.op, this.opts.hangMs + pendingMs);
        const entries = op.entries.map((e) => ({ index: e.msr, data: e.value }));
        const n = this.backing ? await vcpu.setMsrsAsync(entries) : vcpu.setMsrs(entries);
        for (const e of op.entries.slice(0, n)) view.noteWrite(e.msr, e.value);
        this.opts.onRecord(this.opRecord(i, op, 'ok', BigInt(n)));
        for (const e of op.entries.slice(0, n)) this.afterMsrWrite(e.msr, e.value);
        return;
      }
      case 'host_set_lapic':
      case 'host_get_lapic': {
        this.opts.onOp(i, op.op, this.opts.hangMs);
        let page: Buffer;
        try {
          page = vcpu.getLapic();
        } catch (e) {
          if (!(e instanceof KvmError)) throw e;
          this.opts.onRecord(this.opRecord(i, op, 'rejected'));
          return;
        }
        if (op.op === 'host_get_lapic') {
          const v = page.readUInt32LE(op.reg === 'svr' ? APIC_SPIV : APIC_TASKPRI);
          this.opts.onRecord(this.opRecord(i, op, 'ok', BigInt(op.reg === 'tpr' ? v & 0xff : v)));
          return;
        }
        if (op.tpr !== undefined) page.writeUInt32LE(op.tpr, APIC_TASKPRI);
        if (op.svr !== undefined) page.writeUInt32LE(op.svr, APIC_SPIV);
        vcpu.setLapic(page);
        this.opts.onRecord(this.opRecord(i, op, 'ok'));
        return;
      }
      case 'host_get_msr': {
        this.opts.onOp(i, op.op, this.opts.hangMs);
        const { n, values } = vcpu.getMsrs([op.msr]);
        this.opts.onRecord(
          n === 1 ? this.opRecord(i, op, 'ok', values[0]) : this.opRecord(i, op, 'rejected'),
        );
        return;
      }
      case 'run': {
        // Like the model's `run`: every vCPU gets to take what is pending (in vCPU order here: real
        // vCPUs running at once would order their events by timing), then one record for the op.
        this.opts.onOp(i, op.op, this.opts.hangMs + pendingMs + this.opts.settleMs);
        for (let u = 0; u < this.m.vcpus.length; u++) await this.guestOp(i, op, u, request(op), false);
        this.opts.onRecord(this.opRecord(i, op, 'ok'));
        return;
      }
      case 'touch': {
        const extra = op.backing ? delayMs(op.backing.delay) : 0;
        if (op.backing) this.armBacking(op.gpa, extra);
        this.opts.onOp(i, op.op, this.opts.hangMs + Math.max(extra, pendingMs));
        break;
      }
      case 'hlt':
        this.opts.onOp(i, op.op, this.opts.hangMs + pendingMs + this.opts.settleMs);
        break;
      case 'wrmsr':
        // EN = 0 waits (cancel_work_sync) for workers still faulting pages in, so any op may take as
        // long as the backing delays still running.
        view.noteWrite(op.msr, op.value);
        this.opts.onOp(i, op.op, this.opts.hangMs + pendingMs);
        break;
      default:
        this.opts.onOp(i, op.op, this.opts.hangMs + pendingMs);
    }
    const result = await this.guestOp(i, op, v, request(op), true);
    if (op.op === 'wrmsr' && result === 'ok') this.afterMsrWrite(op.msr, op.value);
  }

  /**
   * An accepted EN write that leaves APF disabled (not both ENABLED and DELIVERY_AS_INT) empties KVM's
   * queue: works not started yet are cancelled, so their pages will never be faulted (see
   * DelayedBacking.abandonUnfaulted). A rejected write returns before that, and a write rejected by
   * the hva-cache check enables APF; neither cancels anything.
   */
  private afterMsrWrite(msr: number, value: bigint): void {
    if (msr === MSR_KVM_ASYNC_PF_EN && (value & 0x9n) !== 0x9n) this.backing?.abandonUnfaulted();
  }

  private armBacking(gpa: bigint, ms: number): void {
    this.backingFor().arm(Number(gpa), ms);
  }

  private backingFor(): DelayedBacking {
    if (!this.backing) {
      this.backing = new DelayedBacking(this.libc, this.m.ram);
      if (this.mmu)
        this.backing.onMissing = (page) => this.opts.onRecord({ uffd: 'missing', gpa: hex(page) });
    }
    return this.backing;
  }

  /** Brings a vCPU that never ran to its first R_READY. */
  private async start(v: number): Promise<void> {
    if (this.started[v]) return;
    const exit = await this.m.vcpus[v]!.runAsync();
    if (reportChannel(exit) !== P.R_READY) throw new Error(`vCPU ${v} did not start: ${describeExit(exit)}`);
    this.started[v] = true;
  }

  /**
   * Runs one op on vCPU `v` until the guest is ready again; `record` = emit the op's own record.
   * Returns the op's result.
   */
  private async guestOp(
    i: number,
    op: Op,
    v: number,
    req: OpRequest,
    record: boolean,
  ): Promise<'ok' | '#GP'> {
    await this.start(v);
    const vcpu = this.m.vcpus[v]!;
    const block = this.blocks[v]!;
    const view = this.views[v]!;
    block.writeOp(req, view.area, view.prVector, this.handlers);
    let done: 'ok' | '#GP' | null = null;
    for (;;) {
      const exit = await vcpu.runAsync();
      if (this.backing?.error) throw this.backing.error;
      const ch = reportChannel(exit);
      if (ch === null) {
        if (exit.reason === 'mmio') {
          // An access to a GPA with no memslot and no device (e.g. the xAPIC page without an in-kernel
          // irqchip): writes are dropped and reads return 0, as on an unassigned bus.
          if (!exit.isWrite) vcpu.setMmioReadData(0n);
          continue;
        }
        if (exit.reason === 'shutdown') {
          // A triple fault: KVM cannot run this vCPU again without a reset, so the script ends here.
          this.emit(v, { event: 'shutdown', reason: 'triple fault' });
          throw new Stop({ end: 'completed' });
        }
        if (exit.reason === 'hlt') {
          // Without an in-kernel irqchip HLT exits to user space, and this VMM has no interrupt to
          // inject: the op can never complete.
          this.opts.onRecord(this.opRecord(i, op, 'hang'));
          throw new Stop({ end: 'hang', op: i, reason: `op ${i} (${op.op}): HLT with no interrupt source` });
        }
        throw new Error(`op ${i} (${op.op}): unexpected ${describeExit(exit)}`);
      }
      const data = exit.reason === 'mmio' ? exit.data : 0n;
      switch (ch) {
        case P.R_READY:
          if (!done) throw new Error(`op ${i} (${op.op}): the guest is ready again without a result`);
          return done;
        case P.R_OK:
          done = 'ok';
          if (record) this.opts.onRecord(this.opRecord(i, op, 'ok', resultValue(op, block)));
          break;
        case P.R_GP:
          done = '#GP';
          if (record) this.opts.onRecord(this.opRecord(i, op, '#GP'));
          break;
        case P.R_IRQ: {
          const r: EventRecord = { event: 'irq', vector: hex(Number(data)) };
          if (view.area !== null) {
            const { token, flags } = block.irq();
            Object.assign(r, { token: hex(token), flags: hex(flags) });
          }
          this.emit(v, r);
          break;
        }
        case P.R_PF: {
          const pf = block.pageFault();
          const r: EventRecord = { event: '#PF', cr2: hex(pf.cr2), error_code: hex(pf.errorCode) };
          if (view.area !== null) r.flags = hex(pf.flags);
          this.emit(v, r);
          break;
        }
        case P.R_ACK:
          this.emit(v, {
            event: 'ack',
            value: hex(this.handlers.ackValue),
            result: data === 0n ? 'ok' : '#GP',
          });
          break;
        case P.R_WINDOW: // an exit only so that KVM injects pending interrupts on re-entry
          break;
        case P.R_POLL:
          if (!this.backing || this.backing.quiescent(this.opts.settleMs)) block.stopRun();
          else await new Promise((r) => setTimeout(r, 1));
          break;
        case P.R_PANIC: {
          // The guests do not continue after an unexpected exception: the script ends here.
          const p = block.panic();
          this.emit(
            v,
            p.vector === 0xffff || p.vector === 14
              ? { event: 'guest_panic', reason: panicReason(p.vector, p.rip) }
              : { event: 'exception', vector: hex(p.vector), error_code: hex(p.errorCode) },
          );
          throw new Stop({ end: 'completed' });
        }
        default:
          throw new Error(`op ${i} (${op.op}): unknown report channel ${ch}`);
      }
    }
  }
}

/** The op as the guest's interpreter reads it (PC_OP and its arguments). */
function request(op: Op): OpRequest {
  switch (op.op) {
    case 'wrmsr':
      return { opcode: P.OP_WRMSR, a: BigInt(op.msr), b: op.value };
    case 'rdmsr':
      return { opcode: P.OP_RDMSR, a: BigInt(op.msr) };
    case 'write_mem':
      return { opcode: P.OP_WRITE, a: op.gpa, b: op.value, c: op.size };
    case 'read_mem':
      return { opcode: P.OP_READ, a: op.gpa, c: op.size };
    case 'apic_enable':
      return { opcode: P.OP_APIC, a: op.mode === 'x2apic' ? 1n : 0n };
    case 'sti':
      return { opcode: P.OP_STI };
    case 'cli':
      return { opcode: P.OP_CLI };
    case 'hlt':
      return { opcode: P.OP_HLT };
    case 'run':
      return { opcode: P.OP_RUN };
    case 'touch':
      return {
        opcode: P.OP_TOUCH,
        a: op.gpa,
        c:
          (op.write ? P.TOUCH_WRITE : 0) |
          (op.cpl === 3 ? P.TOUCH_CPL3 : 0) |
          (op.retry ? 0 : P.TOUCH_NO_RETRY),
      };
    case 'cpuid':
      return {
        opcode: P.OP_CPUID,
        a: BigInt(op.leaf),
        b: BigInt(['eax', 'ebx', 'ecx', 'edx'].indexOf(op.reg)),
      };
    case 'hypercall':
      return { opcode: P.OP_HYPERCALL, a: op.nr, b: op.insn === 'vmmcall' ? 1n : 0n, args: op.args };
    default:
      // host ops are handled by the caller; set_cr0_pg, set_cr3 and init are skipped by the planner.
      throw new Error(`op ${op.op} has no guest implementation`);
  }
}

function resultValue(op: Op, block: GuestBlock): bigint | undefined {
  if (op.op === 'rdmsr' || op.op === 'cpuid' || op.op === 'hypercall') return block.result();
  if (op.op === 'read_mem') return BigInt.asUintN(op.size * 8, block.result());
  // A `retry: false` touch that gave up reports the token of its #PF, as the model's guest does.
  if (op.op === 'touch' && block.abandoned()) return block.result();
  return undefined;
}

/** The report channel of an exit, or null when it is not a store to the report page. */
function reportChannel(exit: VcpuExit): number | null {
  if (exit.reason !== 'mmio' || !exit.isWrite) return null;
  const off = exit.physAddr - BigInt(P.REPORT_GPA);
  if (off < 0n || off >= BigInt(P.R_COUNT * P.REPORT_STRIDE)) return null;
  return Number(off) / P.REPORT_STRIDE;
}

function describeExit(exit: VcpuExit): string {
  switch (exit.reason) {
    case 'mmio':
      return `MMIO ${exit.isWrite ? 'write' : 'read'} at ${hex(exit.physAddr)}`;
    case 'io':
      return `port I/O ${exit.out ? 'out' : 'in'} ${hex(exit.port)}`;
    case 'fail_entry':
      return `KVM_EXIT_FAIL_ENTRY (hardware reason ${hex(exit.hardwareReason)})`;
    case 'internal_error':
      return `KVM_EXIT_INTERNAL_ERROR (suberror ${exit.suberror})`;
    case 'other':
      return `exit reason ${exit.code}`;
    default:
      return `KVM_EXIT_${exit.reason.toUpperCase()}`;
  }
}

function panicReason(vector: number, rip: bigint): string {
  if (vector === 0xffff) return 'the guest interpreter got an unknown opcode';
  return `#PF that is not an async "page not present" at rip ${hex(rip)}`;
}
