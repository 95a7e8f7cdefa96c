// The host a transcript came from. Real-KVM results depend on the kernel version (era switches such as
// 5bb9ac186512, kvm-oracle §3.2) and on the vendor module (kvm_pvm cannot show CPL0 async PFs), so
// every run records uname -r, the module, the supported PV feature bits and the capabilities.
import { existsSync, readFileSync } from 'node:fs';
import { release } from 'node:os';
import * as K from '../abi/kvm.ts';
import { KVM_CPUID_FEATURES } from '../abi/kvm_para.ts';
import { ERA_NAMES, type EraName } from '../host/x86/era.ts';
import { hex } from '../script/transcript.ts';
import type { Libc } from './ffi.ts';
import { Kvm } from './vm.ts';

export type VendorModule = 'kvm_intel' | 'kvm_amd' | 'kvm_pvm' | 'unknown';

export interface HostFingerprint {
  /** uname -r */
  kernel: string;
  vendor: VendorModule;
  /** The kvmsim era whose behaviour this kernel should show, or null when none fits. */
  era: EraName | null;
  /** How guest memory is virtualized: two-dimensional paging (EPT/NPT) or shadow page tables. */
  mmu: 'tdp' | 'shadow' | 'unknown';
  /** KVM_GET_SUPPORTED_CPUID leaf 0x40000001.eax. */
  supportedKvmFeatures: string;
  /** KVM_CHECK_EXTENSION results on the system fd. */
  caps: Record<string, number>;
  device: string;
}

const CAPS: Readonly<Record<string, number>> = {
  KVM_CAP_IRQCHIP: K.KVM_CAP_IRQCHIP,
  KVM_CAP_NR_VCPUS: K.KVM_CAP_NR_VCPUS,
  KVM_CAP_MAX_VCPUS: K.KVM_CAP_MAX_VCPUS,
  KVM_CAP_ASYNC_PF: K.KVM_CAP_ASYNC_PF,
  KVM_CAP_ASYNC_PF_INT: K.KVM_CAP_ASYNC_PF_INT,
  KVM_CAP_ENFORCE_PV_FEATURE_CPUID: K.KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
  KVM_CAP_X86_DISABLE_EXITS: K.KVM_CAP_X86_DISABLE_EXITS,
  KVM_CAP_X86_USER_SPACE_MSR: K.KVM_CAP_X86_USER_SPACE_MSR,
};

export function hostFingerprint(libc: Libc, device: string, sysModule = '/sys/module'): HostFingerprint {
  const kvm = Kvm.open(libc, device);
  try {
    const caps = Object.fromEntries(Object.entries(CAPS).map(([n, c]) => [n, kvm.checkExtension(c)]));
    const leaf = kvm.getSupportedCpuid().find((e) => e.function === KVM_CPUID_FEATURES);
    const vendor = vendorModule(sysModule);
    const kernel = release();
    return {
      kernel,
      vendor,
      era: eraOfKernel(kernel),
      mmu: hostMmu(vendor, sysModule),
      supportedKvmFeatures: hex(leaf?.eax ?? 0),
      caps,
      device,
    };
  } finally {
    kvm.close();
  }
}

export function vendorModule(sysModule: string): VendorModule {
  for (const m of ['kvm_intel', 'kvm_amd', 'kvm_pvm'] as const) if (existsSync(`${sysModule}/${m}`)) return m;
  return 'unknown';
}

function hostMmu(vendor: VendorModule, sysModule: string): HostFingerprint['mmu'] {
  // kvm_pvm has no hardware second-level paging: it always shadows (kvm-oracle §1).
  if (vendor === 'kvm_pvm') return 'shadow';
  const param = vendor === 'kvm_intel' ? 'ept' : vendor === 'kvm_amd' ? 'npt' : null;
  if (!param) return 'unknown';
  try {
    const v = readFileSync(`${sysModule}/${vendor}/parameters/${param}`, 'utf8').trim();
    return v === 'Y' || v === '1' ? 'tdp' : 'shadow';
  } catch {
    return 'unknown';
  }
}

/**
 * The newest numbered era not after the kernel's major.minor ("6.18.44-fc-v657" → "6.18"). The '2026'
 * era names unreleased upstream changes and is never inferred from a version number.
 */
export function eraOfKernel(kernel: string): EraName | null {
  const m = /^(\d+)\.(\d+)/.exec(kernel);
  if (!m) return null;
  const v = Number(m[1]) * 1000 + Number(m[2]);
  let best: EraName | null = null;
  for (const e of ERA_NAMES) {
    const em = /^(\d+)\.(\d+)$/.exec(e);
    if (em && Number(em[1]) * 1000 + Number(em[2]) <= v) best = e;
  }
  return best;
}
