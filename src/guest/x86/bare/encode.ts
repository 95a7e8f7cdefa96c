// The bare test guest's encoding for the explorer, beside its state (bare_guest.ts): one vCPU's op
// position, handler frames, APF area and page-ready vector as BARE_CPU_WORDS words, and back. The op
// itself is not written: the explorer's program gives it back from its index.
//
// Word 0: op in flight (bit 0), phase (bits 1-2), #GP result (3), faulted (4), the program's own SMM as
// RSM will restore it (5: CR0.PG, 6: IF; only while in SMM; the environment's SMM is the explorer
// world's), frame count (8+). Then opIndex + 1, area + 1, pageReadyVector + 1, and three words a frame.
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import type { Op } from '../ops.ts';
import type { BareGuest, FrameKind } from './bare_guest.ts';

const FRAME_KINDS: readonly FrameKind[] = ['pf', 'irq', 'gp', 'vmexit'];
/** Handler frames a bare vCPU can have nested (a #PF wait, an interrupt inside it, a #GP …). */
export const MAX_FRAMES = 4;
const FRAME_WORDS = 3;
export const BARE_CPU_WORDS = 4 + MAX_FRAMES * FRAME_WORDS;

/**
 * A bare program's own SMM (its `smi` op; its later ops are the handler, up to its `rsm` op): what RSM will
 * restore, from vcpu.smram. The saved CPL is not written: a bare program's ops run one at a time at CPL 0
 * between accesses, so `smi` always saves 0.
 */
const smmBits = (v: KvmVcpu): number =>
  v.smm ? (v.smram.cr0_pg ? 32 : 0) | (v.smram.rflags_if ? 64 : 0) : 0;

/** Writes vCPU `vcpu`'s bare-guest state at out[w ..]; returns the next word. */
export function encodeBareCpu(g: BareGuest, vcpu: KvmVcpu, out: Int32Array, w: number): number {
  const v = vcpu.vcpu_id;
  const c = g.cpus[v]!;
  if (c.frames.length > MAX_FRAMES) throw new RangeError(`bare vcpu ${v}: more than ${MAX_FRAMES} frames`);
  out[w++] =
    (c.op !== null ? 1 : 0) |
    ((c.phase & 3) << 1) |
    (c.result === '#GP' ? 8 : 0) |
    (c.faulted ? 16 : 0) |
    smmBits(vcpu) |
    (c.frames.length << 8);
  out[w++] = c.opIndex + 1;
  out[w++] = g.area[v]! + 1;
  out[w++] = g.pageReadyVector[v]! + 1;
  for (let k = 0; k < MAX_FRAMES; k++) {
    const f = c.frames[k];
    if (f === undefined) {
      out[w++] = 0;
      out[w++] = 0;
      out[w++] = 0;
      continue;
    }
    out[w++] =
      FRAME_KINDS.indexOf(f.kind) |
      ((f.vector & 0xff) << 4) |
      ((f.pc & 0xff) << 12) |
      (f.savedIf ? 1 << 20 : 0) |
      ((f.savedCpl & 3) << 21) |
      (f.ready ? 1 << 23 : 0);
    out[w++] = f.flags;
    out[w++] = f.token | 0;
  }
  return w;
}

/** Restores vCPU `vcpu`'s bare-guest state from words[w ..], its ops from `program`; returns the next word. */
export function decodeBareCpu(
  g: BareGuest,
  vcpu: KvmVcpu,
  program: readonly Op[],
  words: Int32Array,
  w: number,
): number {
  const v = vcpu.vcpu_id;
  const c = g.cpus[v]!;
  const f0 = words[w++]!;
  c.opIndex = words[w++]! - 1;
  c.op = f0 & 1 ? program[c.opIndex]! : null;
  c.phase = (f0 >>> 1) & 3;
  c.result = f0 & 8 ? '#GP' : 'ok';
  c.value = undefined;
  c.faulted = (f0 & 16) !== 0;
  if (vcpu.smm) {
    vcpu.smram.cr0_pg = (f0 & 32) !== 0;
    vcpu.smram.rflags_if = (f0 & 64) !== 0;
  }
  const nf = f0 >>> 8;
  g.area[v] = words[w++]! - 1;
  g.pageReadyVector[v] = words[w++]! - 1;
  c.frames.length = 0;
  for (let k = 0; k < MAX_FRAMES; k++) {
    const a = words[w++]!;
    const flags = words[w++]!;
    const token = words[w++]! >>> 0;
    if (k >= nf) continue;
    c.frames.push({
      kind: FRAME_KINDS[a & 0xf]!,
      vector: (a >>> 4) & 0xff,
      pc: (a >>> 12) & 0xff,
      savedIf: (a & (1 << 20)) !== 0,
      savedCpl: (a >>> 21) & 3,
      flags,
      token,
      ready: (a & (1 << 23)) !== 0,
    });
  }
  return w;
}
