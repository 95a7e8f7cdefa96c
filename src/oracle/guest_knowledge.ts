// What the bare test guest knows about its own APF setup, following the script contract and the
// model's bare guest (src/guest/x86/bare/bare_guest.ts): its handlers read the area of the last
// non-zero EN value the script wrote, and treat the low byte of the last INT value written as the
// page-ready vector. A guest WRMSR counts whatever its outcome; a host KVM_SET_MSRS only when KVM
// accepted it. These are the test guest's choices, derived from the script, never from the kernel.
import { MSR_KVM_ASYNC_PF_EN, MSR_KVM_ASYNC_PF_INT } from '../abi/kvm_para.ts';
import type { Handlers } from '../script/schema.ts';
import type { HandlerConfig } from './guest_block.ts';
import { protocol as P } from './guests/blobs.ts';

const FOUR_GIB = 2n ** 32n;
/** The area's GPA bits of an EN value (bits 51:6). */
const AREA_MASK = 0xf_ffff_ffff_ffc0n;

/**
 * The area GPA for an EN value, or null when the guest cannot read 8 bytes there: outside RAM, in the
 * guests' private hole, or above 4 GiB (the guests' reach). Then irq and #PF events carry no
 * token/flags.
 */
export function readableArea(enValue: bigint, memory: number): bigint | null {
  const gpa = enValue & AREA_MASK;
  const end = gpa + 8n;
  if (end > BigInt(memory) || end > FOUR_GIB) return null;
  if (end > BigInt(P.PRIV_BASE) && gpa < BigInt(P.PRIV_END)) return null;
  return gpa;
}

/** Tracks, per vCPU, the EN and INT values the script wrote. */
export class GuestApfView {
  /** The readable area of the last non-zero EN value, or null. */
  area: bigint | null = null;
  /** The page-ready vector, or null before any INT write. */
  prVector: number | null = null;

  constructor(private readonly memory: number) {}

  /** A guest WRMSR: call before it runs (an EN write can raise the wakeup-all during the op). A host
   * KVM_SET_MSRS: call after it, and only if KVM processed it. */
  noteWrite(msr: number, value: bigint): void {
    if (msr === MSR_KVM_ASYNC_PF_EN && value !== 0n) this.area = readableArea(value, this.memory);
    else if (msr === MSR_KVM_ASYNC_PF_INT) this.prVector = Number(value & 0xffn);
  }
}

/** The handler options of the script, plus the guest-side bug switch `ack-before-clear`. */
export function handlerConfig(h: Handlers, bugs: readonly string[] = []): HandlerConfig {
  const pr = h.page_ready;
  const pf = h.page_fault;
  let flags = 0;
  if (pr.clear_token) flags |= P.HF_CLEAR_TOKEN;
  if (pr.ack !== false) flags |= P.HF_ACK;
  if (pr.eoi === 'first') flags |= P.HF_EOI_FIRST;
  if (pr.eoi === 'last') flags |= P.HF_EOI_LAST;
  if (pf.clear_flags) flags |= P.HF_CLEAR_FLAGS;
  if (pf.wait_for_ready) flags |= P.HF_WAIT_READY;
  if (bugs.includes('ack-before-clear')) flags |= P.HF_ACK_BEFORE_CLEAR;
  return { flags, ackValue: pr.ack === false ? 0n : pr.ack };
}
