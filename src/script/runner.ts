// The model backend of `kind: script`: builds a VM from the scenario, drives the bare test guest op by
// op through the host run loop, and runs async workers and synchronous fault-ins at the virtual time
// their backing delay says. The transcript has no times in it; the ftrace output does.

import { ENOMEM } from '../abi/errno.ts';
import { KVM_MP_STATE_RUNNABLE } from '../abi/kvm.ts';
import { BareGuest } from '../guest/x86/bare/bare_guest.ts';
import { bugSet } from '../host/x86/bugs.ts';
import { hostBehaviour } from '../host/x86/era.ts';
import { apic_update_highest } from '../host/x86/lapic.ts';
import { kvm_host_dead, STEP_BLOCKED, STEP_IDLE } from '../host/x86/run_loop.ts';
import { applyX86Step, type X86Step } from '../host/x86/steps.ts';
import { OUTSIDE_GUEST_MODE } from '../host/x86/vcpu.ts';
import {
  kvm_vcpu_ioctl_get_lapic,
  kvm_vcpu_ioctl_set_lapic,
  kvm_vcpu_ioctl_set_msrs,
} from '../host/x86/vcpu_ioctl.ts';
import type { KvmVm } from '../host/x86/vm.ts';
import { kvm_get_msr_host_initiated, kvm_set_msr_host_initiated } from '../host/x86/x86.ts';
import { gpaToGfn } from '../mem/guest_memory.ts';
import { PAGE_HOST_RESIDENT, spte_zap } from '../mem/page_state.ts';
import type { EventFilter } from '../trace/events_filter.ts';
import { variantSet } from '../variant/variant_set.ts';
import { mapsRecord, runMapOp } from './host_map_ops.ts';
import { kvmStatRecord, runHostMmOp } from './host_mm.ts';
import { HostTimeline } from './host_timeline.ts';
import { runLinuxScript } from './linux_runner.ts';
import {
  isHostMmOp,
  isMapOp,
  isMigrationOp,
  isPressureOp,
  type MigrationOp,
  type PressureOp,
  type Script,
  type ScriptOp,
} from './schema.ts';
import { hex, type TranscriptRecord } from './transcript.ts';
import { toVmConfig } from './vm_config.ts';

/** MSR_IA32_APICBASE, which KVM_SET_SREGS restores (its apic_base field). */
const MSR_IA32_APICBASE = 0x1b;

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

/** What a `migrate` op saved of one vCPU: KVM_GET_MSRS values by MSR, KVM_GET_LAPIC's SVR and TPR. */
interface SavedVcpu {
  msrs: Map<number, bigint>;
  /** KVM_GET_LAPIC's register page: SVR, TPR and the IRR/ISR bits (an interrupt not yet taken travels). */
  lapic: { svr: number; tpr: number; irr: Uint32Array; isr: Uint32Array } | null;
}

class ScriptRun {
  /** The host and VM the ops act on: the source, then after a `migrate` op the destination. */
  private host: HostTimeline;
  private readonly records: TranscriptRecord[];
  private vm: KvmVm;
  /** Per vCPU, what the last `migrate` saved on the source. */
  private saved: SavedVcpu[] = [];
  private readonly guest: BareGuest;
  private readonly multi: boolean;
  private readonly budget: number;
  /** The `run` step of each vCPU. */
  private readonly runSteps: readonly X86Step[];

  constructor(
    private readonly script: Script,
    private readonly opts: RunOptions,
  ) {
    const c = script.vm;
    this.multi = c.vcpus > 1;
    this.budget = opts.stepBudget ?? 100_000;
    this.host = this.newHost();
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

  /** A host with the script's VM: the source, or (`from`) a migration's destination. */
  private newHost(from?: HostTimeline): HostTimeline {
    const c = this.script.vm;
    const variants = variantSet(this.script.variants);
    return new HostTimeline(
      hostBehaviour(
        this.script.era,
        bugSet(this.script.bugs),
        c.pv_msr_unsupported,
        { lapicDequeueGate: c.lapic_dequeue_gate },
        variants.host,
        variants.kfn,
      ),
      toVmConfig(c, c.kvm_features, bugSet(this.script.bugs)),
      this.multi,
      this.opts,
      from,
    );
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
    if (isMigrationOp(op)) {
      this.runMigrationOp(op, index);
      return;
    }
    if (isPressureOp(op)) {
      this.records.push({ op: index, kind: op.op, result: 'ok', value: hex(BigInt(this.hostEvict(op))) });
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
   * host_evict (schema.ts PressureOpSchema): `mapping` is the VMM's PTE going, whose MMU-notifier
   * invalidation zaps the SPTE while the page stays in memory (page cache or swap cache): the next fault is
   * minor. `memory` takes the page out of RAM: the next fault reads it back in vm.ram_backing.read. DAX
   * memory has no page cache and is not reclaimed. Returns the pages that left memory.
   */
  private hostEvict(op: PressureOp): number {
    const b = this.script.vm.ram_backing ?? { kind: 'anon', read: 1_000_000 };
    const first = gpaToGfn(Number(op.gpa));
    let n = 0;
    for (let gfn = first; gfn < first + op.pages; gfn++) {
      if (op.from === 'mapping' || b.kind === 'dax') {
        spte_zap(this.vm.mem.pageState, gfn);
        continue;
      }
      if (this.vm.mem.pageState[gfn]! & PAGE_HOST_RESIDENT) n++;
      this.host.setBacking(gfn, b.read);
    }
    return n;
  }

  /**
   * Migration (schema.ts MigrationOpSchema, docs/peer-suites.md). `migrate` reports per vCPU how many MSRs
   * KVM_GET_MSRS returned; `host_restore_msrs` how many KVM_SET_MSRS processed (an entry whose MSR the source
   * did not return is left out of the batch, as a VMM builds it from what it saved).
   */
  private runMigrationOp(op: MigrationOp, index: number): void {
    const rec = (v: number, result: 'ok' | 'rejected', value?: bigint) =>
      this.records.push({
        op: index,
        kind: op.op,
        ...(this.multi && op.op !== 'host_add_memslot' ? { vcpu: v } : {}),
        result,
        ...(value !== undefined ? { value: hex(value) } : {}),
      });
    switch (op.op) {
      case 'migrate': {
        const src = this.vm;
        this.saved = src.vcpus.map((v) => {
          // msr_io with do_get_msr: in order, stopping at the first MSR KVM does not return.
          const msrs = new Map<number, bigint>();
          for (const m of op.save) {
            const val = kvm_get_msr_host_initiated(src, v, m);
            if (val === null) break;
            msrs.set(m, val);
          }
          const svr = op.lapic ? kvm_vcpu_ioctl_get_lapic(src, v, 'svr') : null;
          const tpr = op.lapic ? kvm_vcpu_ioctl_get_lapic(src, v, 'tpr') : null;
          rec(v.vcpu_id, 'ok', BigInt(msrs.size));
          const lapic =
            svr === null || tpr === null
              ? null
              : { svr, tpr, irr: v.apic.irr.slice(), isr: v.apic.isr.slice() };
          return { msrs, lapic };
        });
        const dest = this.newHost(this.host);
        const vm = dest.vm;
        vm.mem.copyFrom(src.mem);
        vm.mem.slotAbsent = op.memslots === 'later';
        for (const s of src.vcpus) {
          // KVM_SET_REGS / KVM_SET_SREGS, which every VMM restores first: the guest's registers and the
          // APIC base (an sregs field).
          const d = vm.vcpus[s.vcpu_id]!;
          d.cr0_pg = s.cr0_pg;
          d.cr3 = s.cr3;
          d.cr2 = s.cr2;
          d.rflags_if = s.rflags_if;
          d.cpl = s.cpl;
          d.in_userspace = true;
          const base = kvm_get_msr_host_initiated(src, s, MSR_IA32_APICBASE);
          if (base !== null) kvm_set_msr_host_initiated(vm, d, MSR_IA32_APICBASE, base);
        }
        this.guest.migrateTo(vm);
        vm.guest = this.guest;
        this.host = dest;
        this.vm = vm;
        return;
      }
      case 'host_restore_msrs': {
        const v = op.vcpu ?? 0;
        const saved = this.saved[v]!.msrs;
        const batch: Array<{ msr: number; value: bigint }> = [];
        for (const e of op.entries) {
          const [msr, from] = typeof e === 'number' ? [e, e] : [e.msr, e.from];
          const value = saved.get(from);
          if (value !== undefined) batch.push({ msr, value });
        }
        const vcpu = this.vm.vcpus[v]!;
        const n = kvm_vcpu_ioctl_set_msrs(this.vm, vcpu, batch, (msr, val) =>
          this.guest.noteMsrWrite(vcpu, msr, val),
        );
        rec(v, 'ok', BigInt(n));
        return;
      }
      case 'host_restore_lapic': {
        const v = op.vcpu ?? 0;
        const l = this.saved[v]!.lapic;
        const vcpu = this.vm.vcpus[v]!;
        const ok = l !== null && kvm_vcpu_ioctl_set_lapic(this.vm, vcpu, { svr: l.svr, tpr: l.tpr });
        if (ok) {
          // kvm_apic_set_state copies the whole register page, IRR and ISR included.
          vcpu.apic.irr.set(l.irr);
          vcpu.apic.isr.set(l.isr);
          apic_update_highest(vcpu.apic);
        }
        rec(v, ok ? 'ok' : 'rejected');
        return;
      }
      case 'host_add_memslot':
        // KVM_SET_USER_MEMORY_REGION: the slot appears and the memslot generation moves on, so every
        // gfn_to_hva_cache initializes again on its next access (from the range it keeps).
        this.vm.mem.slotAbsent = false;
        this.vm.mmu.memslots_generation++;
        rec(0, 'ok');
        return;
    }
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
