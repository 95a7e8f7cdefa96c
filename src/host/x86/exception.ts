// Exception queueing (arch/x86/kvm/x86.c kvm_multiple_exception and its wrappers): a pending exception on
// top of another becomes #DF or a triple fault by the SDM's classes. The host's APF code (apf.ts) queues
// the 'not present' #PF here, the MSR and hypercall paths queue #GP; vcpu_enter_guest (x86.ts) injects.
import { DF_VECTOR, PF_VECTOR } from '../../abi/kvm_host.ts';
import type { KvmVcpu } from './vcpu.ts';

/** x86 exception classes for double-fault detection (SDM Table 6-5). */
const EXCPT_BENIGN = 0;
const EXCPT_CONTRIBUTORY = 1;
const EXCPT_PF = 2;
function exception_class(vector: number): number {
  if (vector === PF_VECTOR) return EXCPT_PF;
  if (vector === 0 || (vector >= 10 && vector <= 13)) return EXCPT_CONTRIBUTORY; // #DE, #TS, #NP, #SS, #GP
  return EXCPT_BENIGN;
}

/**
 * @kernel kvm_multiple_exception: queue an exception. On top of one already pending or injected, a #PF
 * followed by a #PF or a contributory fault (or two contributory faults) becomes #DF; anything on top of
 * a #DF is a triple fault (reported as vector -1: shutdown). This is the #DF hazard of x86-apf §6.1
 * item 7. `vmexit` delivers a #PF as a VM-exit to L1 (nested APF).
 */
export function kvm_queue_exception_e_p(
  vcpu: KvmVcpu,
  vector: number,
  errorCode: number,
  payload: number | null,
  vmexit: boolean,
): void {
  const e = vcpu.exception;
  if (e.pending || e.injected) {
    const c1 = exception_class(e.vector);
    const c2 = exception_class(vector);
    if (e.vector === DF_VECTOR) {
      e.vector = TRIPLE_FAULT;
    } else if (
      (c1 === EXCPT_CONTRIBUTORY && c2 === EXCPT_CONTRIBUTORY) ||
      (c1 === EXCPT_PF && c2 !== EXCPT_BENIGN)
    ) {
      e.vector = DF_VECTOR;
      e.error_code = 0;
      e.has_payload = false;
      e.vmexit = false;
    } else {
      // Benign: the new exception replaces the pending one's delivery (the first is re-raised later).
      e.vector = vector;
      e.error_code = errorCode;
      e.has_payload = payload !== null;
      e.payload = payload ?? 0;
      e.vmexit = vmexit;
    }
    e.pending = true;
    e.injected = false;
    return;
  }
  e.pending = true;
  e.injected = false;
  e.vector = vector;
  e.error_code = errorCode;
  e.has_payload = payload !== null;
  e.payload = payload ?? 0;
  e.vmexit = vmexit;
}

/** A triple fault: the vCPU shuts down. */
export const TRIPLE_FAULT = -1;

/** @kernel kvm_queue_exception_e (#GP(0) for a failed guest MSR access, and the like). */
export function kvm_queue_exception_e(vcpu: KvmVcpu, vector: number, errorCode: number): void {
  kvm_queue_exception_e_p(vcpu, vector, errorCode, null, false);
}
