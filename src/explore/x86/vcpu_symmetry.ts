// vCPU symmetry: in a world whose vCPUs are interchangeable (a Linux ≥5.8 guest whose every task runs the
// same program, the same number of tasks per vCPU, no environment steps, no MMU or map actors, an era whose
// tokens are never 0),
// renaming the vCPUs maps states to states and steps to steps (`run v` to `run σ(v)`, ...). The explorer
// stores, for each state, the least encoding (word by word) of its images under every permutation of the
// vCPUs, so a state and its mirror images are stored once.
//
// The renaming works on the encoding. Besides moving each vCPU's host part, its guest CPU part and its
// environment words, it rewrites every value that names a vCPU:
// - tokens: an async PF's token is (id << 12) | vcpu_id (kvm_setup_async_pf, apf.ts), so its low 12 bits
//   are renamed, in the host's works, a pending #PF's payload (CR2 = token), the guest's frames, its
//   apf_reason token words, its tasks' waits and its sleep table (whose bucket order, hash_32 of the
//   token, is recomputed: the table is listed bucket by bucket);
// - the APF area: Linux puts CPU c's apf_reason at 0x1000 + 128·c, and MSR_KVM_ASYNC_PF_EN and the hva
//   cache hold its GPA;
// - a task's CPU and a sleep node's CPU; task ids stay (every task runs the same program, so task
//   symmetry covers which task is which).
// The BSP bit of each vCPU's APIC base stays with its vCPU: no step of such a world reads it.
// A state holding a value the renaming cannot account for (an area or token of another form) is stored as
// it is, which is always sound. That the renaming commutes with every step is checked by
// test/explore/x86/vcpu_symmetry.test.ts on random walks.
//
// Step ids name vCPUs, so a path through representatives is not a path of the real system: run.ts finds
// a counterexample's steps again without this symmetry (counterexamples are short; a failing search is
// the rare case).
import { APF_WAKEUP_ALL_TOKEN, PF_VECTOR } from '../../abi/kvm_host.ts';
import { isLegacyGuest } from '../../guest/x86/linux/config.ts';
import { hash_32, KVM_TASK_SLEEP_HASHBITS } from '../../guest/x86/linux/sleep_table.ts';
import { type VcpuWordOffsets, vcpuWordOffsets, vcpuWords } from '../../host/x86/codec.ts';
import { ENV_KINDS, LINUX_APF_REASON_BASE } from './config.ts';
import { LinuxAdapter } from './linux_adapter.ts';
import type { X86World } from './world.ts';

const AREA_STRIDE = 128;
const TOKEN_VCPU_MASK = 0xfff;
/** Guest CPU part: the exception frame's token, the IRQ frame's token, apf_reason.token; the halt node. */
const CPU_TOKENS = [5, 11, 18];
const CPU_HALT_NODE = 19;
const TASK_CPU = 1;
const TASK_WAIT_TOKEN = 10;
const NODE_WORDS = 4;

function allPermutations(n: number): Int32Array[] {
  const out: Int32Array[] = [];
  const p = Int32Array.from({ length: n }, (_, i) => i);
  const rec = (k: number): void => {
    if (k === n) {
      out.push(Int32Array.from(p));
      return;
    }
    for (let i = k; i < n; i++) {
      [p[k], p[i]] = [p[i]!, p[k]!];
      rec(k + 1);
      [p[k], p[i]] = [p[i]!, p[k]!];
    }
  };
  rec(0);
  return out;
}

export class VcpuSymmetry {
  readonly vcpus: number;
  /** Every permutation of the vCPUs but the identity. */
  private readonly perms: Int32Array[];
  private readonly words: number;
  private readonly hostWords: number;
  private readonly host: VcpuWordOffsets;
  private readonly guestCpu: number[];
  private readonly guestTask: number[];
  private readonly sleep: number;
  private readonly nTaskNodes: number;
  private readonly envVcpu: number;
  private readonly scratch: Int32Array;
  private readonly best: Int32Array;
  private readonly order: number[] = [];
  private readonly nodeKey: Float64Array;

  private constructor(
    w: X86World,
    g: LinuxAdapter,
    private readonly renameTokens = true,
  ) {
    const l = w.layout;
    const o = w.offsets;
    this.vcpus = l.vcpus;
    this.perms = allPermutations(l.vcpus).slice(1);
    this.words = o.words;
    this.hostWords = vcpuWords(l.bounds);
    this.host = vcpuWordOffsets(l.bounds);
    const c = g.components;
    const st = g.state;
    this.guestCpu = Array.from({ length: st.ncpus }, (_, i) => o.guest + c[1 + i]!);
    this.guestTask = Array.from({ length: st.config.max_tasks }, (_, t) => o.guest + c[1 + st.ncpus + t]!);
    this.sleep = o.guest + c[1 + st.ncpus + st.config.max_tasks]!;
    this.nTaskNodes = st.sleepers.nTaskNodes;
    this.envVcpu = o.env + ENV_KINDS.length;
    this.scratch = new Int32Array(o.words);
    this.best = new Int32Array(o.words);
    this.nodeKey = new Float64Array(st.sleepers.linked.length);
  }

  /** The vCPU symmetry of a world, or null when its vCPUs are not interchangeable (see the header). */
  static for(w: X86World): VcpuSymmetry | null {
    const l = w.layout;
    const cfg = l.cfg;
    const g = w.guest;
    if (l.vcpus < 2 || !(g instanceof LinuxAdapter) || cfg.guest.kind !== 'linux') return null;
    if (isLegacyGuest(g.state.config) || cfg.mmu !== undefined || cfg.maps !== undefined) return null;
    if (ENV_KINDS.some((k) => cfg.env[k] > 0) || w.offsets.watched.length > 0) return null;
    if (l.era.tokenNonZero !== true) return null;
    // A variant may read vCPU ids or keep per-vCPU state of its own: no renaming of vCPUs under it.
    if (l.variants.loaded.length > 0) return null;
    const st = g.state;
    const programs = new Set<string>();
    const perCpu = new Int32Array(l.vcpus);
    for (let t = 0; t < st.nTasks; t++) {
      programs.add(JSON.stringify(g.program(t)));
      perCpu[st.task.cpu[t]!]!++;
    }
    if (programs.size > 1 || perCpu.some((n) => n !== perCpu[0])) return null;
    return new VcpuSymmetry(w, g);
  }

  /**
   * The renaming without the checks of `for`, optionally leaving tokens as they are: the tests show that
   * it then fails to commute with the steps.
   */
  static unchecked(w: X86World, renameTokens = true): VcpuSymmetry {
    return new VcpuSymmetry(w, w.guest as LinuxAdapter, renameTokens);
  }

  /** Rewrites `out` (an encoding) with the least of its images under the vCPU permutations. */
  canonicalize(out: Int32Array): void {
    const best = this.best;
    let have = false;
    for (const p of this.perms) {
      if (!this.permute(out, p, this.scratch)) continue;
      const cand = have ? best : out;
      let j = 0;
      while (j < this.words && this.scratch[j] === cand[j]) j++;
      if (j < this.words && this.scratch[j]! < cand[j]!) {
        best.set(this.scratch);
        have = true;
      }
    }
    if (have) out.set(best);
  }

  /**
   * Writes into `dst` the encoding `src` with vCPU v renamed p[v]; false (dst unspecified) when `src`
   * holds a value the renaming cannot account for.
   */
  permute(src: Int32Array, p: Int32Array, dst: Int32Array): boolean {
    dst.set(src);
    const V = this.vcpus;
    const h = this.host;
    const token = (t: number): number | null => {
      const u = t >>> 0;
      if (u === 0 || u === APF_WAKEUP_ALL_TOKEN || !this.renameTokens) return t;
      const v = u & TOKEN_VCPU_MASK;
      return v < V ? (u & ~TOKEN_VCPU_MASK) | p[v]! | 0 : null;
    };
    const area = (a: number, v: number): number | null => {
      const base = a & ~0x3f;
      if (a === 0) return 0;
      return base === LINUX_APF_REASON_BASE + v * AREA_STRIDE
        ? LINUX_APF_REASON_BASE + p[v]! * AREA_STRIDE + (a & 0x3f)
        : null;
    };
    for (let v = 0; v < V; v++) {
      const from = v * this.hostWords;
      const to = p[v]! * this.hostWords;
      for (let j = 0; j < this.hostWords; j++) dst[to + j] = src[from + j]!;
      // The BSP bit stays with the vCPU.
      const bsp = 0x100;
      dst[to + h.apicBase] = (src[from + h.apicBase]! & ~bsp) | (src[to + h.apicBase]! & bsp);
      const en = area(src[from + h.msrEnLo]!, v);
      const gpa = area(src[from + h.dataGpa]!, v);
      if (en === null || gpa === null) return false;
      dst[to + h.msrEnLo] = en;
      dst[to + h.dataGpa] = gpa;
      if (src[from + h.excFlags] !== 0) {
        // A live exception: a #PF with a payload is an async PF's 'not present' (CR2 = token).
        if (src[from + h.excVector] === PF_VECTOR && (src[from + h.excFlags]! & 4) !== 0) {
          const t = token(src[from + h.excPayload]!);
          if (t === null) return false;
          dst[to + h.excPayload] = t;
        } else if (src[from + h.excVector] === PF_VECTOR) return false;
      }
      for (let k = 0; k < h.maxWorks; k++) {
        const at = h.works + k * h.workWords;
        if (src[from + at] === 0) continue;
        const t = token(src[from + at + 1]!);
        if (t === null) return false;
        dst[to + at + 1] = t;
      }
    }
    // Guest CPUs.
    for (let v = 0; v < V; v++) {
      const from = this.guestCpu[v]!;
      const to = this.guestCpu[p[v]!]!;
      const len = this.guestCpu[1]! - this.guestCpu[0]!;
      for (let j = 0; j < len; j++) dst[to + j] = src[from + j]!;
      // Frames that are not live encode their token as 0, which renames to 0.
      for (const at of CPU_TOKENS) {
        const t = token(src[from + at]!);
        if (t === null) return false;
        dst[to + at] = t;
      }
      const node = src[from + CPU_HALT_NODE]!;
      if (node >= this.nTaskNodes) dst[to + CPU_HALT_NODE] = this.nTaskNodes + p[node - this.nTaskNodes]!;
    }
    // Tasks keep their ids; their CPU and awaited token are renamed.
    for (const at of this.guestTask) {
      if (src[at] === 0) continue; // a free slot is all zeros
      dst[at + TASK_CPU] = p[src[at + TASK_CPU]!]!;
      const t = token(src[at + TASK_WAIT_TOKEN]!);
      if (t === null) return false;
      dst[at + TASK_WAIT_TOKEN] = t;
    }
    // The sleep table: rename, then list again in bucket order (a bucket's own list order is kept).
    const n = src[this.sleep]!;
    const order = this.order;
    order.length = 0;
    for (let k = 0; k < n; k++) {
      const at = this.sleep + 1 + k * NODE_WORDS;
      const t = token(src[at]!);
      if (t === null) return false;
      this.nodeKey[k] = hash_32(t, KVM_TASK_SLEEP_HASHBITS) * 4096 + k;
      order.push(k);
    }
    order.sort((a, b) => this.nodeKey[a]! - this.nodeKey[b]!);
    for (let i = 0; i < n; i++) {
      const from = this.sleep + 1 + order[i]! * NODE_WORDS;
      const to = this.sleep + 1 + i * NODE_WORDS;
      dst[to] = token(src[from]!)!;
      dst[to + 1] = p[src[from + 1]!]!;
      const node = src[from + 2]!;
      dst[to + 2] = node >= this.nTaskNodes ? this.nTaskNodes + p[node - this.nTaskNodes]! : node;
      dst[to + 3] = src[from + 3]!;
    }
    // Per-vCPU environment words (SMM, hotplug).
    for (let v = 0; v < V; v++) {
      dst[this.envVcpu + p[v]!] = src[this.envVcpu + v]!;
      dst[this.envVcpu + V + p[v]!] = src[this.envVcpu + V + v]!;
    }
    return true;
  }
}
