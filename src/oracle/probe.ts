// Whether this machine can run the real-KVM backend, and why not. KVM_ORACLE=off|auto|require picks
// the policy (default auto): off never probes; auto skips with the reason; require turns any missing
// piece into a failure (the caller decides how: see requireOrSkip in the tests and the CLI).
// KVM_ORACLE_DEVICE points the probe at another device node (tests use a nonexistent one to exercise
// the skip path on machines that do have /dev/kvm).
import { accessSync, constants } from 'node:fs';
import {
  KVM_API_VERSION,
  KVM_CAP_ASYNC_PF,
  KVM_CAP_ASYNC_PF_INT,
  KVM_CAP_ENFORCE_PV_FEATURE_CPUID,
} from '../abi/kvm.ts';
import { UsageError } from '../scenario/usage_error.ts';
import { type Libc, loadLibc } from './ffi.ts';
import { HostMapping } from './host_mapping.ts';
import { Kvm } from './vm.ts';

export type OracleMode = 'off' | 'auto' | 'require';

export function oracleMode(env: NodeJS.ProcessEnv = process.env): OracleMode {
  const v = (env.KVM_ORACLE ?? 'auto').trim().toLowerCase();
  if (v === 'off' || v === 'auto' || v === 'require') return v;
  throw new UsageError(`KVM_ORACLE: expected off, auto or require, got ${JSON.stringify(env.KVM_ORACLE)}`);
}

export function kvmDevice(env: NodeJS.ProcessEnv = process.env): string {
  return env.KVM_ORACLE_DEVICE || '/dev/kvm';
}

export type ProbeResult =
  | { ok: true; mode: OracleMode; device: string; libc: Libc }
  | { ok: false; mode: OracleMode; device: string; reason: string };

const cache = new Map<string, Promise<ProbeResult>>();

/** Runs the probe once per (mode, device) per process. */
export function probeKvm(env: NodeJS.ProcessEnv = process.env): Promise<ProbeResult> {
  const mode = oracleMode(env);
  const device = kvmDevice(env);
  const key = `${mode}:${device}`;
  let p = cache.get(key);
  if (!p) {
    p = probe(mode, device);
    cache.set(key, p);
  }
  return p;
}

async function probe(mode: OracleMode, device: string): Promise<ProbeResult> {
  const no = (reason: string): ProbeResult => ({ ok: false, mode, device, reason });
  if (mode === 'off') return no('KVM_ORACLE=off');
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return no(`the real-KVM backend needs linux/x64, this is ${process.platform}/${process.arch}`);
  try {
    accessSync(device, constants.R_OK | constants.W_OK);
  } catch (e) {
    return no(`${device} is not accessible for reading and writing (${(e as NodeJS.ErrnoException).code})`);
  }
  const libc = await loadLibc();
  if ('error' in libc) return no(libc.error);
  let kvm: Kvm;
  try {
    kvm = Kvm.open(libc, device);
  } catch (e) {
    return no((e as Error).message);
  }
  try {
    const api = kvm.getApiVersion();
    if (api !== KVM_API_VERSION) return no(`KVM_GET_API_VERSION is ${api}, expected ${KVM_API_VERSION}`);
    const caps: Array<[string, number]> = [
      ['KVM_CAP_ASYNC_PF', KVM_CAP_ASYNC_PF],
      ['KVM_CAP_ASYNC_PF_INT', KVM_CAP_ASYNC_PF_INT],
      ['KVM_CAP_ENFORCE_PV_FEATURE_CPUID', KVM_CAP_ENFORCE_PV_FEATURE_CPUID],
    ];
    for (const [name, cap] of caps) if (kvm.checkExtension(cap) === 0) return no(`${device} lacks ${name}`);
    const guest = oneInstructionGuest(libc, kvm);
    if (guest) return no(guest);
    return { ok: true, mode, device, libc };
  } catch (e) {
    return no((e as Error).message);
  } finally {
    kvm.close();
  }
}

/**
 * A VM with one page of RAM and no irqchip, running `out 0x10, al` in real mode at 0: it must come
 * back as KVM_EXIT_IO on port 0x10. Without an irqchip nothing can block in KVM_RUN, so this runs
 * synchronously in the calling process. Returns null on success, else the reason.
 */
function oneInstructionGuest(libc: Libc, kvm: Kvm): string | null {
  const vm = kvm.createVm();
  const ram = HostMapping.anonymous(libc, 4096, { shared: true });
  try {
    ram.bytes.set([0xe6, 0x10], 0);
    vm.setUserMemoryRegion(0, 0, 4096, ram.addr);
    const vcpu = vm.createVcpu(0);
    try {
      const s = vcpu.getSregs();
      s.setSegment('cs', { ...s.segment('cs'), base: 0n, selector: 0 });
      vcpu.setSregs(s);
      const regs = vcpu.getRegs();
      vcpu.setRegs({ ...regs, rip: 0n, rflags: 2n });
      const exit = vcpu.runSync();
      if (exit.reason !== 'io' || exit.port !== 0x10 || !exit.out)
        return `the one-instruction guest exited with ${JSON.stringify(exit, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`;
      return null;
    } finally {
      vcpu.close();
    }
  } finally {
    vm.close();
    ram.unmap();
  }
}
