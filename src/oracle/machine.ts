// Builds the VM a script runs on: its RAM, the guests' private memslot (code, tables, per-vCPU blocks)
// and vCPUs in the state the chosen guest expects. The ioctl order follows kvm-oracle §6 (pitfall 6):
// KVM_CREATE_IRQCHIP before KVM_CREATE_VCPU, KVM_ENABLE_CAP(ENFORCE_PV_FEATURE_CPUID) on the vCPU
// fd, KVM_SET_CPUID2 before the first KVM_RUN.
import {
  KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
  KVM_CAP_X86_DISABLE_EXITS,
  KVM_MP_STATE_RUNNABLE,
  KVM_X86_DISABLE_EXITS_HLT,
  MSR_STAR,
} from '../abi/kvm.ts';
import { KVM_CPUID_FEATURES } from '../abi/kvm_para.ts';
import type { VmConfig } from '../script/schema.ts';
import { identityPageTables, linuxGdt, longModeIdt, realModeIvt, tss64 } from './descriptors.ts';
import type { Libc } from './ffi.ts';
import { longModeGuest, protocol as P, realModeGuest } from './guests/blobs.ts';
import { HostMapping } from './host_mapping.ts';
import type { CpuidEntry, Segment } from './kvm_structs.ts';
import { Kvm, type VcpuFd, type VmFd } from './vm.ts';

/** Which guest runs the script: the real-mode interpreter or the long-mode CPL3 guest. */
export type GuestKind = 'real' | 'long';

const SLOT_RAM_LOW = 0;
const SLOT_PRIVATE = 1;
const SLOT_RAM_HIGH = 2;

export interface Machine {
  readonly kvm: Kvm;
  readonly vm: VmFd;
  readonly vcpus: readonly VcpuFd[];
  /** Guest RAM [0, memory): byte `gpa` is at offset `gpa` (the hole's bytes are never used). */
  readonly ram: HostMapping;
  /** The private memslot [PRIV_BASE, PRIV_BASE + PRIV_SIZE). */
  readonly priv: HostMapping;
  readonly guest: GuestKind;
  /** Offset of vCPU i's block in `priv`. */
  blockOffset(vcpu: number): number;
  close(): void;
}

export function blockGpa(vcpu: number): number {
  return P.PCPU_GPA + vcpu * P.PCPU_STRIDE;
}

export function createMachine(libc: Libc, device: string, vmc: VmConfig, guest: GuestKind): Machine {
  const kvm = Kvm.open(libc, device);
  const cleanup: Array<() => void> = [() => kvm.close()];
  try {
    const vm = kvm.createVm();
    cleanup.unshift(() => vm.close());
    if (vmc.irqchip) vm.createIrqchip();
    if (vmc.hlt_in_guest) vm.enableCap(KVM_CAP_X86_DISABLE_EXITS, [BigInt(KVM_X86_DISABLE_EXITS_HLT)]);

    const ram = HostMapping.anonymous(libc, vmc.memory, { shared: false });
    cleanup.unshift(() => ram.unmap());
    vm.setUserMemoryRegion(SLOT_RAM_LOW, 0, Math.min(vmc.memory, P.PRIV_BASE), ram.addr);
    if (vmc.memory > P.PRIV_END)
      vm.setUserMemoryRegion(
        SLOT_RAM_HIGH,
        P.PRIV_END,
        vmc.memory - P.PRIV_END,
        ram.addr + BigInt(P.PRIV_END),
      );

    const priv = HostMapping.anonymous(libc, P.PRIV_SIZE, { shared: true });
    cleanup.unshift(() => priv.unmap());
    vm.setUserMemoryRegion(SLOT_PRIVATE, P.PRIV_BASE, P.PRIV_SIZE, priv.addr);
    loadGuest(priv, guest, vmc.vcpus);

    const cpuid = guestCpuid(kvm.getSupportedCpuid(), vmc.kvm_features);
    const vcpus: VcpuFd[] = [];
    for (let i = 0; i < vmc.vcpus; i++) {
      const vcpu = vm.createVcpu(i);
      vcpus.push(vcpu);
      cleanup.unshift(() => vcpu.close());
      vcpu.setCpuid2(cpuid);
      if (vmc.enforce_pv_cpuid) vcpu.enableCap(KVM_CAP_ENFORCE_PV_FEATURE_CPUID, [1n]);
      if (guest === 'real') setupRealMode(vcpu);
      else setupLongMode(vcpu);
      // Under an in-kernel irqchip an AP waits for INIT/SIPI; the guests start every vCPU directly.
      if (vmc.irqchip && i > 0) vcpu.setMpState(KVM_MP_STATE_RUNNABLE);
    }
    return {
      kvm,
      vm,
      vcpus,
      ram,
      priv,
      guest,
      blockOffset: (i) => blockGpa(i) - P.PRIV_BASE,
      // VM teardown with an irqchip takes ~14 ms (kvm-oracle §8); the child process exits right after.
      close: () => {
        for (const f of cleanup) f();
      },
    };
  } catch (e) {
    for (const f of cleanup) f();
    throw e;
  }
}

/** The supported CPUID with leaf 0x40000001.eax (the PV feature bits) replaced by the script's. */
export function guestCpuid(supported: readonly CpuidEntry[], kvmFeatures: number): CpuidEntry[] {
  return supported.map((e) => (e.function === KVM_CPUID_FEATURES ? { ...e, eax: kvmFeatures >>> 0 } : e));
}

function loadGuest(priv: HostMapping, guest: GuestKind, vcpus: number): void {
  const at = (gpa: number) => gpa - P.PRIV_BASE;
  const blob = guest === 'real' ? realModeGuest : longModeGuest;
  const code = Buffer.from(blob.bytes, 'base64');
  if (code.length > P.CODE_MAX) throw new Error(`guest code is ${code.length} bytes, more than CODE_MAX`);
  priv.bytes.set(code, at(blob.loadGpa));
  if (guest === 'real') {
    priv.bytes.set(realModeIvt(P.PRIV_BASE >> 4, realModeGuest.symbols.irq_stubs), at(P.IVT_GPA));
  } else {
    priv.bytes.set(longModeIdt(longModeGuest.symbols.irq_stubs), at(P.IDT_GPA));
    priv.bytes.set(linuxGdt(P.TSS_GPA), at(P.GDT_GPA));
    priv.bytes.set(identityPageTables(P.PT_GPA), at(P.PT_GPA));
  }
  for (let i = 0; i < vcpus; i++) {
    if (guest === 'long')
      priv.bytes.set(tss64(blockGpa(i) + P.PC_RSP0_STACK), at(P.TSS_GPA + i * P.TSS_STRIDE));
    const block = at(blockGpa(i));
    priv.dv.setBigUint64(block + P.PC_SELF, BigInt(blockGpa(i)), true);
    priv.dv.setUint32(block + P.PC_PR_VEC, 0x100, true);
  }
}

/**
 * Real mode from the reset state: CS at the private memslot, SS and GS at this vCPU's block, FS flat
 * with a 4 GiB limit (KVM_SET_SREGS can load the hidden limit; real-mode segment loads keep it), and
 * the IVT moved to IVT_GPA with the IDTR so it does not sit in the script's RAM at 0.
 */
function setupRealMode(vcpu: VcpuFd): void {
  const s = vcpu.getSregs();
  const seg = (base: number): Partial<Segment> => ({ base: BigInt(base), selector: base >> 4 });
  s.setSegment('cs', { ...s.segment('cs'), ...seg(P.PRIV_BASE) });
  s.setSegment('ss', { ...s.segment('ss'), ...seg(blockGpa(vcpu.id)) });
  s.setSegment('gs', { ...s.segment('gs'), ...seg(blockGpa(vcpu.id)) });
  s.setSegment('fs', { ...s.segment('fs'), base: 0n, selector: 0, limit: 0xffffffff, g: 1 });
  s.setDtable('idt', BigInt(P.IVT_GPA), 0x3ff);
  vcpu.setSregs(s);
  vcpu.setRegs({
    ...zeroRegs(),
    rip: BigInt(realModeGuest.symbols.rm_start),
    rsp: BigInt(P.PC_KERNEL_STACK),
    rflags: 2n,
  });
}

/** 64-bit mode directly (no boot path): the state of kvm-oracle §5.1, per vCPU. */
function setupLongMode(vcpu: VcpuFd): void {
  const s = vcpu.getSregs();
  const flat = { base: 0n, limit: 0xffffffff, present: 1, dpl: 0, s: 1, g: 1, avl: 0, unusable: 0 };
  const data: Segment = { ...flat, selector: P.SEL_KERNEL_DS, type: 3, db: 1, l: 0 };
  s.setSegment('cs', { ...flat, selector: P.SEL_KERNEL_CS, type: 0xb, db: 0, l: 1 });
  for (const name of ['ds', 'es', 'fs', 'ss'] as const) s.setSegment(name, data);
  s.setSegment('gs', { ...data, base: BigInt(blockGpa(vcpu.id)) });
  const tss = P.TSS_GPA + vcpu.id * P.TSS_STRIDE;
  s.setSegment('tr', {
    base: BigInt(tss),
    limit: 0x67,
    selector: P.SEL_TSS,
    type: 0xb,
    present: 1,
    dpl: 0,
    db: 0,
    s: 0,
    l: 0,
    g: 0,
  });
  s.setDtable('gdt', BigInt(P.GDT_GPA), 0x4f);
  s.setDtable('idt', BigInt(P.IDT_GPA), 256 * 16 - 1);
  s.set('cr0', 0x80000031n); // PG | NE | ET | PE
  s.set('cr3', BigInt(P.PT_GPA));
  s.set('cr4', 0x20n); // PAE
  s.set('efer', 0x501n); // LMA | LME | SCE (as in kvm-oracle §5.1)
  vcpu.setSregs(s);
  const rsp = BigInt(blockGpa(vcpu.id) + P.PC_KERNEL_STACK);
  vcpu.setRegs({ ...zeroRegs(), rip: BigInt(longModeGuest.symbols.lm_start), rsp, rflags: 2n });
  // kvm_pvm derives the user and kernel selectors from MSR_STAR (kvm-oracle §1.2); nothing uses syscall.
  const star = (BigInt(P.SEL_USER32_CS) << 48n) | (BigInt(P.SEL_KERNEL_CS) << 32n);
  if (vcpu.setMsrs([{ index: MSR_STAR, data: star }]) !== 1) throw new Error('KVM_SET_MSRS(MSR_STAR) failed');
}

function zeroRegs() {
  return {
    rax: 0n,
    rbx: 0n,
    rcx: 0n,
    rdx: 0n,
    rsi: 0n,
    rdi: 0n,
    rsp: 0n,
    rbp: 0n,
    r8: 0n,
    r9: 0n,
    r10: 0n,
    r11: 0n,
    r12: 0n,
    r13: 0n,
    r14: 0n,
    r15: 0n,
    rip: 0n,
    rflags: 2n,
  };
}
