// One explore world: a real VM (createVm with the era's host behaviour and the bug switches) with its
// real guest, plus the environment's budgets. The explorer never keeps worlds: it keeps their
// encodings, and restores a world from words by decoding into these same objects (decode below), so
// every step runs the real host and guest code.

import { bugSet } from '../../host/x86/bugs.ts';
import { decodeVcpu, encodeVcpu, restoreHvaCacheGeneration, vcpuWords } from '../../host/x86/codec.ts';
import { decodeMmuCaches, encodeMmuCaches, mmuCachesWords } from '../../host/x86/mmu_caches_codec.ts';
import {
  decodeFaultSnapshot,
  decodeMmu,
  encodeMmu,
  mmuSnapshotWord,
  mmuWords,
} from '../../host/x86/mmu_codec.ts';
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import { createVm, type KvmVm } from '../../host/x86/vm.ts';
import { host_page_evict, restorePageState } from '../../mem/page_state.ts';
import { variantState } from '../../variant/state.ts';
import { VariantError } from '../../variant/variant_error.ts';
import type { VariantSet } from '../../variant/variant_set.ts';
import { BareAdapter } from './bare_adapter.ts';
import { ENV_KINDS } from './config.ts';
import type { GuestAdapter } from './guest_adapter.ts';
import type { WorldLayout } from './layout.ts';
import { type EventLog, LinuxAdapter } from './linux_adapter.ts';
import { decodeMaps, encodeMaps, MapActor, mapWords } from './map_actor.ts';
import { Observer } from './observer.ts';

/**
 * The encoded SMM word of a vCPU in the environment's SMM: in SMM, and what RSM restores (vcpu.smram,
 * smm.ts). 0 outside it. (A bare-guest program's own `smi` op is part of the guest's encoding instead.)
 */
const SMM_IN = 1;
const SMM_PG = 2;
const SMM_IF = 4;
const SMM_CPL_SHIFT = 3;

/** The vCPU is in the SMM of an environment SMI: its next run step is the firmware handler's RSM. */
export const inFirmwareSmm = (v: KvmVcpu): boolean => v.smm && v.smram.firmware;

function smmWord(v: KvmVcpu): number {
  if (!inFirmwareSmm(v)) return 0;
  const s = v.smram;
  return SMM_IN | (s.cr0_pg ? SMM_PG : 0) | (s.rflags_if ? SMM_IF : 0) | (s.cpl << SMM_CPL_SHIFT);
}

function restoreSmm(v: KvmVcpu, word: number): void {
  const s = v.smram;
  s.cr0_pg = (word & SMM_PG) !== 0;
  s.rflags_if = (word & SMM_IF) !== 0;
  s.cpl = (word >>> SMM_CPL_SHIFT) & 3;
  s.firmware = true;
}

/** Word offsets of an encoding's parts. */
export interface WorldOffsets {
  readonly host: number;
  readonly guest: number;
  readonly mem: number;
  readonly pages: number;
  /** The notifier side (mmu_codec.ts), when the world models it. */
  readonly mmu: number;
  /** The memory caches (mmu_caches_codec.ts) and the pressure budget, with `mmu.caches`. */
  readonly caches: number;
  readonly env: number;
  /** The map actor's words (map_actor.ts), when the world has one (else equal to `variant`). */
  readonly maps: number;
  /** Words of one vCPU's host part (vcpuWords). */
  readonly vcpuWords: number;
  /** The variants' per-vCPU fields (Variant.state.vcpu), after everything else, and which they are. */
  readonly variant: number;
  readonly variantFields: readonly { readonly file: string; readonly field: string; readonly bits: number }[];
  readonly words: number;
  /** Guest-memory words the world tracks itself (the guest adapter's encoding covers the others). */
  readonly watched: readonly number[];
  /**
   * Where the encoding's components start, ascending: each vCPU's host part, the guest's parts, then
   * guest memory, pages, the MMU, the caches and the environment (for collapse compression).
   */
  readonly components: readonly number[];
}

export class X86World {
  readonly vm: KvmVm;
  readonly guest: GuestAdapter;
  readonly obs: Observer;
  /** Remaining budget per ENV_KINDS entry. */
  readonly env: Int32Array;
  /** Per vCPU (Linux INIT): 1 while the hotplug cycle waits for the CPU to park. */
  readonly hotplug: Int32Array;
  readonly log: EventLog = { events: null };
  /** Host memory operations the environment may still start (cfg.mmu.budget). */
  mmBudget: number;
  /** Memory-pressure episodes the environment may still start (cfg.mmu.alloc_fail.budget). */
  allocFailBudget: number;
  /** The host-internal callers of kvm_vcpu_map (cfg.maps), or null. */
  readonly maps: MapActor | null;
  readonly offsets: WorldOffsets;
  /** What the last failing variant property said (checks.ts variantViolation); not part of the state. */
  variantDetail: string | null = null;

  constructor(readonly layout: WorldLayout) {
    const cfg = layout.cfg;
    this.obs = new Observer(() => this.vm, cfg.properties);
    this.vm = createVm(
      layout.era,
      {
        irqchip: cfg.vm.irqchip,
        enforce_pv_cpuid: cfg.vm.enforce_pv_cpuid,
        kvm_features: cfg.vm.kvm_features,
        hlt_in_guest: cfg.vm.hlt_in_guest,
        guest_state_protected: cfg.vm.protected_state,
        tdp: cfg.vm.tdp,
        memory: cfg.vm.memory,
        vcpus: cfg.vm.vcpus,
        mmu_notifiers: cfg.mmu !== undefined,
        split_fault: cfg.mmu?.split_fault ?? false,
        mmu_seq_start: cfg.mmu?.seq_start ?? 0,
        mmu_caches: cfg.mmu?.caches === true,
        ...(cfg.maps !== undefined ? { host_maps: { ...cfg.maps.host, bugs: bugSet(cfg.bugs) } } : {}),
      },
      this.obs.hooks(),
    );
    for (const g of layout.pages) host_page_evict(this.vm.mem.pageState, g); // swapped out on the host
    let adapter: GuestAdapter;
    if (cfg.guest.kind === 'linux') {
      adapter = new LinuxAdapter(this.vm, cfg.guest, layout.bugs, this.log, layout.variants.guest);
    } else {
      const bare = new BareAdapter(this.vm, cfg.guest, layout.bounds.maxWorks, this.log);
      adapter = bare;
      for (const v of this.vm.vcpus) v.cr0_pg = cfg.vm.guest_mode === 'long';
    }
    this.guest = adapter;
    const monitor = adapter instanceof BareAdapter ? adapter : null;
    this.vm.guest = adapter.model;
    this.obs.setMonitor(monitor);
    this.env = Int32Array.from(ENV_KINDS, (k) => cfg.env[k]);
    this.hotplug = new Int32Array(layout.vcpus);
    this.mmBudget = cfg.mmu?.budget ?? 0;
    this.allocFailBudget = cfg.mmu?.alloc_fail?.budget ?? 0;
    this.maps = cfg.maps !== undefined ? new MapActor(cfg.maps) : null;
    this.offsets = worldOffsets(layout, adapter);
  }

  vcpu(v: number): KvmVcpu {
    return this.vm.vcpus[v]!;
  }

  /** Writes this world's encoding (not canonicalized for symmetry) into out[0 .. words). */
  encode(out: Int32Array): void {
    const o = this.offsets;
    const l = this.layout;
    let w = o.host;
    for (const v of this.vm.vcpus) w = encodeVcpu(v, l.bounds, out, w, this.vm.mem, this.vm.mmu);
    this.guest.encode(out, o.guest);
    const mem = this.vm.mem;
    w = o.mem;
    for (const gpa of o.watched) out[w++] = mem.readU32(gpa) | 0;
    w = o.pages;
    for (const g of l.pages) out[w++] = mem.pageState[g]!;
    if (l.cfg.mmu !== undefined) encodeMmu(this.vm, out, o.mmu);
    if (this.vm.memcache !== null) {
      const c = encodeMmuCaches(this.vm.memcache, out, o.caches);
      out[c] = this.allocFailBudget;
    }
    w = o.env;
    for (let i = 0; i < this.env.length; i++) out[w++] = this.env[i]!;
    for (const v of this.vm.vcpus) out[w++] = smmWord(v);
    for (let v = 0; v < l.vcpus; v++) out[w++] = this.hotplug[v]!;
    if (l.cfg.mmu !== undefined) out[w++] = this.mmBudget;
    if (this.maps !== null) encodeMaps(this.vm, this.maps, l.pages, out, w);
    if (l.variants.loaded.length > 0)
      encodeVariantState(this.vm.vcpus, o.variantFields, l.variants.loaded, out, o.variant);
  }

  /** Overwrites this world with the one encoded at words[offset ..]. */
  decode(words: Int32Array, offset: number): void {
    const o = this.offsets;
    const l = this.layout;
    let w = offset + o.host;
    for (const v of this.vm.vcpus) w = decodeVcpu(words, w, l.bounds, v, this.vm.mem);
    const mem = this.vm.mem;
    w = offset + o.mem;
    for (const gpa of o.watched) mem.writeU32(gpa, words[w++]! >>> 0);
    this.guest.decode(words, offset + o.guest);
    w = offset + o.pages;
    for (const g of l.pages) restorePageState(mem.pageState, g, words[w++]!);
    if (l.cfg.mmu !== undefined) decodeMmu(this.vm, words, offset + o.mmu);
    if (this.vm.memcache !== null) {
      const c = decodeMmuCaches(this.vm.memcache, words, offset + o.caches);
      this.allocFailBudget = words[c]!;
    }
    for (const v of this.vm.vcpus) restoreHvaCacheGeneration(v, this.vm.mmu);
    this.decodeEnv(words, offset);
  }

  /** The environment's words (budgets, SMM, hotplug, the map actor) and the variants' fields. */
  private decodeEnv(words: Int32Array, offset: number): void {
    const o = this.offsets;
    const l = this.layout;
    let w = offset + o.env;
    for (let i = 0; i < this.env.length; i++) this.env[i] = words[w++]!;
    for (const v of this.vm.vcpus) {
      const word = words[w++]!;
      if (word !== 0) restoreSmm(v, word);
      else v.smram.firmware = false;
    }
    for (let v = 0; v < l.vcpus; v++) this.hotplug[v] = words[w++]!;
    if (l.cfg.mmu !== undefined) this.mmBudget = words[w++]!;
    if (this.maps !== null) decodeMaps(this.vm, this.maps, l.pages, words, w);
    if (o.variantFields.length > 0)
      decodeVariantState(this.vm.vcpus, o.variantFields, words, offset + o.variant);
  }

  /**
   * Makes this world the one encoded at words[offset ..], given that it is now the world whose encoding
   * (not canonicalized) is `held`; updates `held` to those words. The same world as `decode` gives, but
   * only the parts whose words differ are decoded: each vCPU's host part, each tracked guest-memory word,
   * the guest and the environment. A difference in the parts other parts' decoding reads (pages, the
   * notifier side, the memory caches, the map actor's pages) decodes everything, as `decode` does.
   *
   * Why this is the same world: a part whose words are equal is a part that behaves the same (the
   * encoding is canonical, which the visited set already relies on), and decoding it again would write
   * back what the encoding determines. The explorer keeps one working world per search: it steps it,
   * encodes the successor and restores the expanded state with this, so a step costs the decoding of
   * the one or two parts it changed instead of a whole world.
   */
  restore(words: Int32Array, offset: number, held: Int32Array): void {
    const o = this.offsets;
    const l = this.layout;
    if (
      !sameWords(words, offset + o.pages, held, o.pages, o.env - o.pages) ||
      (this.maps !== null && !sameWords(words, offset + o.maps, held, o.maps, o.variant - o.maps))
    ) {
      this.decode(words, offset);
      for (let i = 0; i < o.words; i++) held[i] = words[offset + i]!;
      return;
    }
    const vw = o.vcpuWords;
    const mem = this.vm.mem;
    for (let v = 0, at = o.host; v < l.vcpus; v++, at += vw) {
      if (sameWords(words, offset + at, held, at, vw)) continue;
      const vcpu = this.vm.vcpus[v]!;
      decodeVcpu(words, offset + at, l.bounds, vcpu, mem);
      // The parts decodeMmu writes for a vCPU (the notifier side's words are equal, so not decoded).
      if (l.cfg.mmu !== undefined)
        decodeFaultSnapshot(this.vm, v, words[offset + o.mmu + mmuSnapshotWord(v)]!);
      restoreHvaCacheGeneration(vcpu, this.vm.mmu);
      for (let i = at; i < at + vw; i++) held[i] = words[offset + i]!;
    }
    for (let k = 0, at = o.mem; k < o.watched.length; k++, at++) {
      const x = words[offset + at]!;
      if (x === held[at]) continue;
      mem.writeU32(o.watched[k]!, x >>> 0);
      held[at] = x;
    }
    if (!sameWords(words, offset + o.guest, held, o.guest, o.mem - o.guest)) {
      this.guest.decode(words, offset + o.guest);
      for (let i = o.guest; i < o.mem; i++) held[i] = words[offset + i]!;
    }
    if (!sameWords(words, offset + o.env, held, o.env, o.words - o.env)) {
      this.decodeEnv(words, offset);
      for (let i = o.env; i < o.words; i++) held[i] = words[offset + i]!;
    }
  }
}

/** Whether a[ao .. ao + n) equals b[bo .. bo + n). */
function sameWords(a: Int32Array, ao: number, b: Int32Array, bo: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (a[ao + i] !== b[bo + i]) return false;
  return true;
}

/**
 * The variants' per-vCPU fields (Variant.state.vcpu), one word each, vCPU by vCPU. A field the variants did
 * not declare, or a value that does not fit its width, cannot be encoded: the explorer refuses it.
 */
function encodeVariantState(
  vcpus: readonly KvmVcpu[],
  fields: WorldOffsets['variantFields'],
  loaded: VariantSet['loaded'],
  out: Int32Array,
  at: number,
): void {
  let w = at;
  for (const v of vcpus) {
    const rec = variantState(v);
    let n = 0;
    for (const f of fields) {
      const x = rec[f.field];
      if (x === undefined) {
        out[w++] = 0;
        continue;
      }
      n++;
      if (!Number.isInteger(x) || x < 0 || x >= 2 ** f.bits)
        throw new VariantError(
          f.file,
          `state.vcpu.${f.field}`,
          `vCPU ${v.vcpu_id} holds ${x}, which is not an integer 0..2^${f.bits}-1`,
        );
      out[w++] = x;
    }
    if (n !== Object.keys(rec).length) {
      const extra = Object.keys(rec).find((k) => !fields.some((f) => f.field === k))!;
      throw new VariantError(
        loaded.map((x) => x.file).join(', '),
        'state.vcpu',
        `a hook wrote variantState(vcpu).${extra}, which no variant declares in state.vcpu: the explorer cannot encode it`,
      );
    }
  }
}

function decodeVariantState(
  vcpus: readonly KvmVcpu[],
  fields: WorldOffsets['variantFields'],
  words: Int32Array,
  at: number,
): void {
  let w = at;
  for (const v of vcpus) {
    const rec = variantState(v);
    for (const f of fields) rec[f.field] = words[w++]!;
  }
}

function worldOffsets(l: WorldLayout, g: GuestAdapter): WorldOffsets {
  const covered = new Set(g.coveredWords);
  const watched: number[] = [];
  for (const a of l.candidateAreas) for (const gpa of [a, a + 4]) if (!covered.has(gpa)) watched.push(gpa);
  const host = 0;
  const guest = host + l.vcpus * vcpuWords(l.bounds);
  const mem = guest + g.words;
  const pages = mem + watched.length;
  const mmu = pages + l.pages.length;
  const caches = mmu + (l.cfg.mmu !== undefined ? mmuWords(l.vcpus) : 0);
  const env = caches + (l.cfg.mmu?.caches === true ? mmuCachesWords(l.vcpus) + 1 : 0);
  const maps = env + ENV_KINDS.length + 2 * l.vcpus + (l.cfg.mmu !== undefined ? 1 : 0);
  const words = maps + (l.cfg.maps !== undefined ? mapWords(l.cfg.maps, l.pages, l.vcpus) : 0);
  const variantFields = l.variants.vcpuState;
  const total = words + l.vcpus * variantFields.length;
  const parts = [host];
  for (let v = 1; v < l.vcpus; v++) parts.push(host + v * vcpuWords(l.bounds));
  for (const c of g.components ?? [0]) parts.push(guest + c);
  parts.push(mem, pages, mmu, caches, env);
  const components = parts.filter((c, i) => c < total && (i === 0 || c > parts[i - 1]!));
  return {
    host,
    guest,
    mem,
    pages,
    mmu,
    caches,
    env,
    maps,
    vcpuWords: vcpuWords(l.bounds),
    variant: words,
    variantFields,
    words: total,
    watched,
    components,
  };
}
