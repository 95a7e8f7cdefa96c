// Interruption-subclass arithmetic shared by every module, and the hex spelling used in transcripts.
// IBM bit numbering: ISC 0 is the most significant bit of a mask byte, so ISC n is 0x80 >> n.
import { IO_INT_WORD_AI, IO_INT_WORD_ISC_MASK, IO_INT_WORD_ISC_SHIFT, MAX_ISC } from '../abi/s390_gisa.ts';

/** IPM/IAM/CR6-byte bit of an ISC. */
export const iscBit = (isc: number): number => 0x80 >> isc;

/** isc_to_isc_bits(): the CR6 bit of an ISC in the 64-bit control register (as a number, fits 32 bits). */
export const isc_to_isc_bits = (isc: number): number => ((0x80 >> isc) << 24) >>> 0;

/** isc_to_int_word(): the I/O interruption word of a synthetic adapter interruption. */
export const isc_to_int_word = (isc: number): number =>
  (IO_INT_WORD_AI | (isc << IO_INT_WORD_ISC_SHIFT)) >>> 0;

/** int_word_to_isc(). */
export const int_word_to_isc = (word: number): number =>
  ((word & IO_INT_WORD_ISC_MASK) >>> 0) >>> IO_INT_WORD_ISC_SHIFT;

/**
 * Highest-priority ISC in a mask byte (the lowest ISC number, i.e. the most significant set bit), or -1.
 * This is the order in which both the SIE and kvm_s390_deliver_pending_interrupts() pick I/O classes.
 */
export function topIsc(mask: number): number {
  for (let isc = 0; isc <= MAX_ISC; isc++) if (mask & iscBit(isc)) return isc;
  return -1;
}

/** The ISCs set in a mask byte, highest priority first. */
export function iscsOf(mask: number): number[] {
  const out: number[] = [];
  for (let isc = 0; isc <= MAX_ISC; isc++) if (mask & iscBit(isc)) out.push(isc);
  return out;
}

/** Mask byte from a list of ISCs. */
export const maskOf = (iscs: readonly number[]): number => iscs.reduce((m, isc) => m | iscBit(isc), 0);

/** "0x02": a mask byte. */
export const hex8 = (v: number): string => `0x${(v & 0xff).toString(16).padStart(2, '0')}`;
/** "0x00200900": a 32-bit word or address. */
export const hex32 = (v: number): string => `0x${(v >>> 0).toString(16).padStart(8, '0')}`;
/** "0x5": a vCPU bitmap (idle_mask, kicked_mask). */
export const hexBits = (v: number): string => `0x${(v >>> 0).toString(16)}`;

/** Lowest set bit index of a bitmap below `limit`, or `limit` when none (find_first_bit). */
export function find_first_bit(bitmap: number, limit: number): number {
  for (let i = 0; i < limit; i++) if (bitmap & (1 << i)) return i;
  return limit;
}
