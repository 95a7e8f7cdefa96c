// One explore world: a real VM (createVm with the era's host behaviour and the bug switches) with its
// real guest, plus the environment's budgets. The explorer never keeps worlds: it keeps their
// encodings, and restores a world from words by decoding into these same objects (decode below), so
// every step runs the real host and guest code.
import { KVM_MP_STATE_HALTED } from '../../abi/kvm.ts';
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import { createVm, type KvmVm } from '../../host/x86/vm.ts';
import { kvm_set_cr0_pg, vcpu_block_wakeup } from '../../host/x86/x86.ts';
import { BareAdapter } from './bare_adapter.ts';
import { ENV_KINDS } from './config.ts';
import type { GuestAdapter } from './guest_adapter.ts';
import { decodeVcpu, encodeVcpu, vcpuWords } from './host_codec.ts';
import type { WorldLayout } from './layout.ts';
import { type EventLog, LinuxAdapter } from './linux_adapter.ts';
import { Observer } from './observer.ts';

/** smm[v] bits: in the environment's SMM, and what RSM restores. */
export const SMM_IN = 1;
export const SMM_PG = 2;
export const SMM_IF = 4;
const SMM_CPL_SHIFT = 3;

/** Word offsets of an encoding's parts. */
export interface WorldOffsets {
  readonly host: number;
  readonly guest: number;
  readonly mem: number;
  readonly pages: number;
  readonly env: number;
  readonly words: number;
  /** Guest-memory words the world tracks itself (the guest adapter's encoding covers the others). */
  readonly watched: readonly number[];
}

export class X86World {
  readonly vm: KvmVm;
  readonly guest: GuestAdapter;
  readonly obs: Observer;
  /** Remaining budget per ENV_KINDS entry. */
  readonly env: Int32Array;
  /** Per vCPU: SMM_* bits of the environment's SMI (0: not in SMM). */
  readonly smm: Int32Array;
  /** Per vCPU (Linux INIT): 1 while the hotplug cycle waits for the CPU to park. */
  readonly hotplug: Int32Array;
  readonly log: EventLog = { events: null };
  readonly offsets: WorldOffsets;

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
      },
      this.obs.hooks(),
    );
    for (const g of layout.pages) this.vm.mem.pageState[g] = 0; // swapped out on the host
    let adapter: GuestAdapter;
    if (cfg.guest.kind === 'linux') {
      adapter = new LinuxAdapter(this.vm, cfg.guest, layout.bugs, this.log);
    } else {
      const bare = new BareAdapter(this.vm, cfg.guest, layout.bounds.maxWorks, this.log);
      adapter = bare;
      for (const v of this.vm.vcpus) v.cr0_pg = cfg.vm.guest_mode === 'long';
    }
    this.guest = adapter;
    const monitor = adapter instanceof BareAdapter ? adapter : null;
    this.vm.guest = this.obs.guest(adapter.model, {
      inSmm: (vcpu) => (this.smm[vcpu.vcpu_id]! & SMM_IN) !== 0,
      rsm: (vcpu) => this.rsm(vcpu),
      onException: monitor ? (vcpu, vector) => monitor.onException(vcpu, vector) : undefined,
      onInterrupt: monitor ? (vcpu, vector) => monitor.onInterrupt(vcpu, vector) : undefined,
      onNestedPfVmexit: monitor ? (vcpu, addr) => monitor.onNestedPfVmexit(vcpu, addr) : undefined,
    });
    this.env = Int32Array.from(ENV_KINDS, (k) => cfg.env[k]);
    this.smm = new Int32Array(layout.vcpus);
    this.hotplug = new Int32Array(layout.vcpus);
    this.offsets = worldOffsets(layout, adapter);
  }

  vcpu(v: number): KvmVcpu {
    return this.vm.vcpus[v]!;
  }

  /**
   * The environment's SMI (x86-apf §6.1 item 11): SMM entry saves and clears CR0.PG (kvm_set_cr0_pg, which
   * ≤6.17 clears the APF queue) and IF; a halted vCPU wakes for it. The vCPU's next instruction is RSM.
   */
  smi(vcpu: KvmVcpu): void {
    const v = vcpu.vcpu_id;
    this.smm[v] =
      SMM_IN | (vcpu.cr0_pg ? SMM_PG : 0) | (vcpu.rflags_if ? SMM_IF : 0) | (vcpu.cpl << SMM_CPL_SHIFT);
    // vcpu_block returns for the pending SMI (kvm_vcpu_has_events) and ends any halt.
    if (vcpu.mp_state === KVM_MP_STATE_HALTED || vcpu.apf.halted) vcpu_block_wakeup(vcpu);
    vcpu.smm = true;
    vcpu.rflags_if = false;
    vcpu.cpl = 0;
    kvm_set_cr0_pg(this.vm, vcpu, false);
  }

  /** RSM: CR0.PG comes back (6.18+ rescans), then IF and CPL. */
  private rsm(vcpu: KvmVcpu): boolean {
    const v = vcpu.vcpu_id;
    const s = this.smm[v]!;
    this.smm[v] = 0;
    vcpu.smm = false;
    kvm_set_cr0_pg(this.vm, vcpu, (s & SMM_PG) !== 0);
    vcpu.rflags_if = (s & SMM_IF) !== 0;
    vcpu.cpl = (s >>> SMM_CPL_SHIFT) & 3;
    return true;
  }

  /** Writes this world's encoding (not canonicalized for symmetry) into out[0 .. words). */
  encode(out: Int32Array): void {
    const o = this.offsets;
    const l = this.layout;
    let w = o.host;
    for (const v of this.vm.vcpus) w = encodeVcpu(v, l.bounds, out, w);
    this.guest.encode(out, o.guest);
    const mem = this.vm.mem;
    w = o.mem;
    for (const gpa of o.watched) out[w++] = mem.readU32(gpa) | 0;
    w = o.pages;
    for (const g of l.pages) out[w++] = mem.pageState[g]!;
    w = o.env;
    for (let i = 0; i < this.env.length; i++) out[w++] = this.env[i]!;
    for (let v = 0; v < l.vcpus; v++) out[w++] = this.smm[v]!;
    for (let v = 0; v < l.vcpus; v++) out[w++] = this.hotplug[v]!;
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
    for (const g of l.pages) mem.pageState[g] = words[w++]!;
    w = offset + o.env;
    for (let i = 0; i < this.env.length; i++) this.env[i] = words[w++]!;
    for (let v = 0; v < l.vcpus; v++) this.smm[v] = words[w++]!;
    for (let v = 0; v < l.vcpus; v++) this.hotplug[v] = words[w++]!;
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
  const env = pages + l.pages.length;
  const words = env + ENV_KINDS.length + 2 * l.vcpus;
  return { host, guest, mem, pages, env, words, watched };
}
