// The default fixture of x86-apf §8.1 for unit-level conformance tests: host era E4 (6.17) unless told
// otherwise, in-kernel LAPIC hardware- and software-enabled, enforcement off, vCPU 0, shared area at
// A = 0x10000, guest in long mode at CPL 3 with IF = 1. A recording guest captures injected events.
import { MSR_KVM_ASYNC_PF_ACK, MSR_KVM_ASYNC_PF_EN, MSR_KVM_ASYNC_PF_INT } from '../../src/abi/kvm_para.ts';
import { async_pf_execute } from '../../src/host/x86/async_pf.ts';
import { workPending } from '../../src/host/x86/async_pf_work.ts';
import { type BugName, bugSet } from '../../src/host/x86/bugs.ts';
import { type EraName, hostBehaviour } from '../../src/host/x86/era.ts';
import { apic_set_eoi } from '../../src/host/x86/lapic.ts';
import { kvm_mmu_do_page_fault, type RetPf } from '../../src/host/x86/mmu_fault.ts';
import { formatTracepoint, TRACEPOINT_NAMES } from '../../src/host/x86/trace.ts';
import type { KvmVcpu } from '../../src/host/x86/vcpu.ts';
import { createVm, type KvmVm, type VmConfig } from '../../src/host/x86/vm.ts';
import {
  kvm_emulate_rdmsr,
  kvm_emulate_wrmsr,
  kvm_lapic_write,
  vcpu_enter_guest,
} from '../../src/host/x86/x86.ts';
import { host_page_evict, PAGE_SPTE_MAPPED } from '../../src/mem/page_state.ts';

export const A = 0x10000;

export type Delivered =
  | { kind: 'exception'; vector: number; errorCode: number; cr2: number }
  | { kind: 'irq'; vector: number }
  | { kind: 'pf_vmexit'; address: number };

export interface FixtureOptions extends Partial<VmConfig> {
  era?: EraName;
  /** Historical bugs switched back on. */
  bugs?: BugName[];
  /** Which vCPU the helpers act on (the VM gets vcpu+1 vCPUs). */
  vcpu?: number;
  /** Leave the LAPIC as reset left it (software-disabled). */
  lapicDisabled?: boolean;
}

export class ApfFixture {
  readonly vm: KvmVm;
  readonly vcpu: KvmVcpu;
  readonly delivered: Delivered[] = [];
  readonly traces: string[] = [];
  /** Works the host queued, as [vcpu, slot, gen]. */
  readonly works: Array<[KvmVcpu, number, number]> = [];
  readonly syncFaults: number[] = [];
  kicks = 0;

  constructor(o: FixtureOptions = {}) {
    const id = o.vcpu ?? 0;
    this.vm = createVm(hostBehaviour(o.era ?? '6.17', bugSet(o.bugs ?? [])), {
      irqchip: o.irqchip ?? true,
      enforce_pv_cpuid: o.enforce_pv_cpuid ?? false,
      kvm_features: o.kvm_features ?? 0x01007efb,
      hlt_in_guest: o.hlt_in_guest ?? false,
      guest_state_protected: o.guest_state_protected ?? false,
      tdp: o.tdp ?? true,
      memory: o.memory ?? 8 * 1024 * 1024,
      vcpus: id + 1,
      ...(o.mmu_notifiers !== undefined && { mmu_notifiers: o.mmu_notifiers }),
    });
    this.vcpu = this.vm.vcpus[id]!;
    this.vm.hooks = {
      asyncWorkQueued: (v, slot) => this.works.push([v, slot, v.async_pf.wGen[slot]!]),
      syncFault: (_v, gfn) => this.syncFaults.push(gfn),
      kick: () => {
        this.kicks++;
      },
      trace: (_v, tp, a, b) => this.traces.push(`${TRACEPOINT_NAMES[tp]}: ${formatTracepoint(tp, a, b)}`),
    };
    this.vm.guest = {
      step: () => false,
      onInit() {},
      onSipi() {},
      deliverException: (v, vector, errorCode) =>
        this.delivered.push({ kind: 'exception', vector, errorCode, cr2: v.cr2 }),
      deliverInterrupt: (v, vector) => {
        this.delivered.push({ kind: 'irq', vector });
        apic_set_eoi(v.apic); // the handler's EOI, so the next interrupt of the class can come
      },
      deliverNestedPfVmexit: (_v, address) => this.delivered.push({ kind: 'pf_vmexit', address }),
    };
    for (const v of this.vm.vcpus) {
      v.cr0_pg = true;
      v.cpl = 3;
      v.rflags_if = true;
      if (this.vm.config.irqchip && !o.lapicDisabled) {
        v.apic.apic_base |= 1 << 10; // x2APIC
        kvm_lapic_write(this.vm, v, 0xf0, 0x1ff);
        v.requests = 0;
      }
    }
  }

  wrmsr(msr: number, value: bigint | number): 'ok' | '#GP' {
    return kvm_emulate_wrmsr(this.vm, this.vcpu, msr, BigInt(value)) ? 'ok' : '#GP';
  }

  rdmsr(msr: number): bigint | '#GP' {
    return kvm_emulate_rdmsr(this.vm, this.vcpu, msr) ?? '#GP';
  }

  /** One VM entry: requests, then event injection (recorded in `delivered`). */
  enter(): void {
    vcpu_enter_guest(this.vm, this.vcpu);
  }

  /** Enter until nothing more is injected, re-enabling IF after each delivery as an IRET would. */
  settle(): void {
    for (let i = 0; i < 16; i++) {
      const n = this.delivered.length;
      this.enter();
      this.vcpu.rflags_if = true;
      if (this.delivered.length === n && this.vcpu.requests === 0) return;
    }
  }

  u32(gpa: number): number {
    return this.vm.mem.readU32(gpa);
  }

  setU32(gpa: number, v: number): void {
    this.vm.mem.writeU32(gpa, v);
  }

  /** Marks gfn's host page non-resident (NEEDS_IO) and unmapped. */
  evict(gfn: number): void {
    host_page_evict(this.vm.mem.pageState, gfn);
  }

  /** A guest access to `gpa` that misses the secondary MMU (an EPT/NPT violation). */
  fault(gpa: number, prefetch = false): RetPf {
    return kvm_mmu_do_page_fault(this.vm, this.vcpu, gpa, 0, prefetch);
  }

  mapped(gfn: number): boolean {
    return (this.vm.mem.pageState[gfn]! & PAGE_SPTE_MAPPED) !== 0;
  }

  /** Runs the worker of the i-th queued work (async_pf_execute). */
  complete(i = 0): void {
    const [v, slot, gen] = this.works[i]!;
    if (!workPending(v.async_pf, slot, gen)) throw new Error(`work ${i} is not pending`);
    async_pf_execute(this.vm, v, slot);
  }

  /** "Enabled-PV" of x86-apf §8.1: INT = 0xf3, EN = A | 0x9, the wakeup-all consumed (slot cleared, ACK). */
  enabledPv(en = 0x9): this {
    this.wrmsr(MSR_KVM_ASYNC_PF_INT, 0xf3);
    this.wrmsr(MSR_KVM_ASYNC_PF_EN, BigInt(A | en));
    this.enter();
    this.setU32(A + 4, 0);
    this.wrmsr(MSR_KVM_ASYNC_PF_ACK, 1);
    this.delivered.length = 0;
    this.traces.length = 0;
    this.kicks = 0;
    this.vcpu.rflags_if = true;
    return this;
  }
}
