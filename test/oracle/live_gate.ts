// Gate for live /dev/kvm tests (KVM_ORACLE=off|auto|require, kvm-oracle §9.3): resolves to the reason
// to skip, or null to run. Under `require` a missing piece throws, so the suite fails instead.
import { probeKvm } from '../../src/oracle/probe.ts';

export async function liveSkipReason(): Promise<string | null> {
  const p = await probeKvm();
  if (p.ok) return null;
  if (p.mode === 'require')
    throw new Error(`KVM_ORACLE=require, but the real-KVM backend is unavailable: ${p.reason}`);
  return `real KVM unavailable: ${p.reason}`;
}
