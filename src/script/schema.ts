// The x86 `kind: script` scenario: a bare test guest driven op by op (docs/scenarios.md).
// This schema is the contract shared by the model backend, the real-KVM backend and the explorer. The op
// and handler types it produces are defined beside the guest that interprets them (src/guest/x86/ops.ts).
import { z } from 'zod';
import * as para from '../abi/kvm_para.ts';
import { type Handlers, type Op, PAGE_FAULT_ACTIONS, PAGE_READY_ACTIONS } from '../guest/x86/ops.ts';
import { BUG_NAMES } from '../host/x86/bugs.ts';
import { ERA_NAMES } from '../host/x86/era.ts';
import { HOST_MAP_CALLERS } from '../host/x86/host_maps.ts';
import { BACKING_KIND_NAMES } from '../mem/host_backing.ts';
import { durationNs, intIn, intOneOf, nameOrUint, size, uint } from '../scenario/values.ts';
import { LinuxGuestSchema } from './linux_schema.ts';
import { X86ExpectSchema } from './x86_expect.ts';

/** MSR names accepted in scripts (besides numbers). */
export const MSR_NAMES: Readonly<Record<string, number>> = {
  MSR_KVM_WALL_CLOCK: para.MSR_KVM_WALL_CLOCK,
  MSR_KVM_SYSTEM_TIME: para.MSR_KVM_SYSTEM_TIME,
  MSR_KVM_WALL_CLOCK_NEW: para.MSR_KVM_WALL_CLOCK_NEW,
  MSR_KVM_SYSTEM_TIME_NEW: para.MSR_KVM_SYSTEM_TIME_NEW,
  MSR_KVM_ASYNC_PF_EN: para.MSR_KVM_ASYNC_PF_EN,
  MSR_KVM_STEAL_TIME: para.MSR_KVM_STEAL_TIME,
  MSR_KVM_PV_EOI_EN: para.MSR_KVM_PV_EOI_EN,
  MSR_KVM_POLL_CONTROL: para.MSR_KVM_POLL_CONTROL,
  MSR_KVM_ASYNC_PF_INT: para.MSR_KVM_ASYNC_PF_INT,
  MSR_KVM_ASYNC_PF_ACK: para.MSR_KVM_ASYNC_PF_ACK,
  MSR_KVM_MIGRATION_CONTROL: para.MSR_KVM_MIGRATION_CONTROL,
  MSR_IA32_APICBASE: 0x1b,
  X2APIC_EOI: 0x80b,
  X2APIC_SVR: 0x80f,
};

/** CPUID 0x40000001.eax feature names accepted in `vm.kvm_features`. */
export const KVM_FEATURE_NAMES: Readonly<Record<string, number>> = {
  CLOCKSOURCE: para.KVM_FEATURE_CLOCKSOURCE,
  NOP_IO_DELAY: para.KVM_FEATURE_NOP_IO_DELAY,
  CLOCKSOURCE2: para.KVM_FEATURE_CLOCKSOURCE2,
  ASYNC_PF: para.KVM_FEATURE_ASYNC_PF,
  STEAL_TIME: para.KVM_FEATURE_STEAL_TIME,
  PV_EOI: para.KVM_FEATURE_PV_EOI,
  PV_UNHALT: para.KVM_FEATURE_PV_UNHALT,
  PV_TLB_FLUSH: para.KVM_FEATURE_PV_TLB_FLUSH,
  ASYNC_PF_VMEXIT: para.KVM_FEATURE_ASYNC_PF_VMEXIT,
  PV_SEND_IPI: para.KVM_FEATURE_PV_SEND_IPI,
  POLL_CONTROL: para.KVM_FEATURE_POLL_CONTROL,
  PV_SCHED_YIELD: para.KVM_FEATURE_PV_SCHED_YIELD,
  ASYNC_PF_INT: para.KVM_FEATURE_ASYNC_PF_INT,
  MSI_EXT_DEST_ID: para.KVM_FEATURE_MSI_EXT_DEST_ID,
  HC_MAP_GPA_RANGE: para.KVM_FEATURE_HC_MAP_GPA_RANGE,
  MIGRATION_CONTROL: para.KVM_FEATURE_MIGRATION_CONTROL,
  CLOCKSOURCE_STABLE_BIT: para.KVM_FEATURE_CLOCKSOURCE_STABLE_BIT,
};

const featureBit = z.enum(Object.keys(KVM_FEATURE_NAMES) as [string, ...string[]]);
/**
 * The guest's CPUID 0x40000001.eax: a list of feature names, a number, or "none" (no KVM leaves at
 * all, as with no KVM_SET_CPUID2). Defaults to everything the reference host supports.
 */
const kvmFeatures = z
  .union([z.literal('none'), z.array(featureBit), uint(32)])
  .transform((v) =>
    v === 'none'
      ? 0
      : Array.isArray(v)
        ? v.reduce((a, n) => a | (1 << KVM_FEATURE_NAMES[n]!), 0) >>> 0
        : Number(v),
  );

const msr = nameOrUint('MSR', MSR_NAMES, 32);
const vcpu = intIn(0, 63).optional();
const gpa = uint(52);
const memSize = intOneOf(1, 2, 4, 8);
const op = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.strictObject({ op: z.literal(kind), vcpu, ...shape });

/** Fault-in latency on the host for a page that is not resident: "50ms", "10us", 0 (ns). */
const delay = durationNs();

export const OpSchema = z.discriminatedUnion('op', [
  op('wrmsr', { msr, value: uint(64) }),
  op('rdmsr', { msr }),
  op('host_set_msr', { msr, value: uint(64) }),
  op('host_get_msr', { msr }),
  op('write_mem', { gpa, size: memSize, value: uint(64) }),
  op('read_mem', { gpa, size: memSize }),
  op('apic_enable', { mode: z.enum(['xapic', 'x2apic']).default('x2apic') }),
  op('sti', {}),
  op('cli', {}),
  op('hlt', {}),
  op('touch', {
    gpa,
    cpl: intOneOf(0, 3).default(3),
    write: z.boolean().default(false),
    backing: z.strictObject({ delay }).optional(),
    /**
     * false: after a 'not present' #PF the guest gives up on the access (as a kernel would switch to
     * another task) and the op reports the token; the page-ready arrives during later ops.
     */
    retry: z.boolean().default(true),
  }),
  op('set_cr0_pg', { value: z.boolean() }),
  op('set_cr3', { value: uint(52) }),
  op('init', {}),
  op('smi', {}),
  op('rsm', {}),
  op('enter_l2', {}),
  op('leave_l2', {}),
  op('run', {
    /** Only with `guest:` (the Linux guest): stop after this much virtual time even if work is left. */
    for: delay.optional(),
  }),
  // Only with `guest:` (the Linux guest): CPU hotplug, kvm_cpu_down_prepare (or with `shutdown` the
  // reboot/crash path), and INIT + SIPI + kvm_cpu_online.
  op('cpu_offline', { shutdown: z.boolean().default(false) }),
  op('cpu_online', {}),
  // issue 17: the peer suites' and VMMs' operations (docs/peer-suites.md; checks in peer_check.ts).
  op('cpuid', {
    leaf: intOneOf(0x40000000, 0x40000001),
    reg: z.enum(['eax', 'ebx', 'ecx', 'edx']).default('eax'),
  }),
  op('hypercall', {
    nr: uint(64),
    args: z.array(uint(64)).max(4).default([]),
    insn: z.enum(['vmcall', 'vmmcall']).default('vmcall'),
  }),
  op('host_set_msrs', { entries: z.array(z.strictObject({ msr, value: uint(64) })).min(1) }),
  op('host_set_lapic', { svr: intIn(0, 0x3ff).optional(), tpr: intIn(0, 255).optional() }),
  op('host_get_lapic', { reg: z.enum(['svr', 'tpr']) }),
]) satisfies z.ZodType<Op>;

const pageReadyShape = {
  clear_token: z.boolean().default(true),
  ack: z.union([uint(64), z.literal(false)]).default(1n),
  /** When the handler EOIs: `last` (after the ACK, as kvm-unit-tests), `first` (as Linux), or `false`. */
  eoi: z
    .union([z.literal('first'), z.literal('last'), z.boolean()])
    .default('last')
    .transform((v) => (v === true ? 'last' : v)),
};
const pageFaultShape = {
  clear_flags: z.boolean().default(true),
  wait_for_ready: z.boolean().default(true),
};

export const HandlersSchema = z
  .strictObject({
    page_ready: z.strictObject(pageReadyShape).prefault({}),
    page_fault: z.strictObject(pageFaultShape).prefault({}),
  })
  .prefault({}) satisfies z.ZodType<Handlers>;

/**
 * A script's `handlers:`: HandlersSchema plus guest-programmed handlers (issue 17, docs/peer-suites.md):
 * `page_fault.not_present` and `page_ready.actions`, action lists (src/guest/x86/ops.ts). Absent, they stay
 * absent from the parsed script. The explorer takes HandlersSchema only.
 */
export const ScriptHandlersSchema = z
  .strictObject({
    page_ready: z
      .strictObject({ ...pageReadyShape, actions: z.array(z.enum(PAGE_READY_ACTIONS)).min(1).optional() })
      .prefault({}),
    page_fault: z
      .strictObject({
        ...pageFaultShape,
        not_present: z.array(z.enum(PAGE_FAULT_ACTIONS)).min(1).optional(),
      })
      .prefault({}),
  })
  .prefault({}) satisfies z.ZodType<Handlers>;

const vmFields = {
  memory: size(4096, 2 ** 40).default(64 * 1024),
  irqchip: z.boolean().default(true),
  enforce_pv_cpuid: z.boolean().default(false),
  kvm_features: kvmFeatures.default(0x01007efb),
  vcpus: intIn(1, 64).default(1),
  /** CR0.PG at start: `long` is 64-bit paging (the default), `real` has paging off. */
  guest_mode: z.enum(['long', 'real']).default('long'),
  /** TDP (EPT/NPT, direct MMU) or shadow paging. */
  mmu: z.enum(['tdp', 'shadow']).default('tdp'),
  /** KVM_CAP_X86_DISABLE_EXITS(HLT): HLT does not exit. */
  hlt_in_guest: z.boolean().default(false),
  /** SEV-ES/SNP/TDX: the guest's CPL is unknowable to KVM. */
  protected_state: z.boolean().default(false),
  /** Whether the host carries 5bb9ac186512 (host access to an unsupported PV MSR); default per era. */
  pv_msr_unsupported: z.boolean().optional(),
  /**
   * Whether the host carries 2f15d027c05f (APF vs a disabled LAPIC); default per era: 5.8–5.12 as
   * released do not, a 5.10.119+ or May-2021 5.12.y stable kernel does (docs/bugs.md).
   */
  lapic_dequeue_gate: z.boolean().optional(),
};

export const VmSchema = z.strictObject(vmFields).prefault({});
export type VmConfig = z.output<typeof VmSchema>;

/**
 * A script's `vm:` section: VmSchema plus the options only scripts take. `mmu_notifiers` models KVM's MMU
 * notifiers (src/host/x86/mmu_notifier.ts) and enables the host memory operations below; `mmu_caches`
 * (with it) the MMU memory caches and `host_alloc_fail`. Absent means false; they stay absent from the
 * parsed script, so scripts without them parse (and hash) as before.
 */
/** A range of guest pages: `gpa` (page-aligned down) and `pages`. */
const pageRange = { gpa, pages: intIn(1, 1 << 20).default(1) };
/**
 * `vm.maps`: the guest mapping API (docs/mmu.md, "Guest mapping"). `backing` gives page ranges another kind
 * of host memory than ordinary RAM; `readonly` ranges sit in a read-only memslot; `smm_only` ranges exist
 * only in the SMM address space; `dirty_logging` turns on KVM_MEM_LOG_DIRTY_PAGES; `allow_unsafe_mappings`
 * is kvm's module parameter (≥6.13); `has_iomem: false` models an architecture without memremap (s390).
 */
export const MapsVmSchema = z.strictObject({
  allow_unsafe_mappings: z.boolean().default(false),
  dirty_logging: z.boolean().default(false),
  has_iomem: z.boolean().default(true),
  backing: z.array(z.strictObject({ ...pageRange, kind: z.enum(BACKING_KIND_NAMES) })).default([]),
  readonly: z.array(z.strictObject(pageRange)).default([]),
  smm_only: z.array(z.strictObject(pageRange)).default([]),
});
export type MapsVm = z.output<typeof MapsVmSchema>;

export const ScriptVmSchema = z
  .strictObject({
    ...vmFields,
    mmu_notifiers: z.boolean().optional(),
    mmu_caches: z.boolean().optional(),
    maps: MapsVmSchema.optional(),
    /**
     * What backs guest RAM on the host (issue 17, docs/peer-suites.md), for `host_evict`: `anon` (private
     * anonymous memory; evicted pages go to swap), `file` (a shared file mapping: QEMU memory-backend-file,
     * Cloud Hypervisor `--memory file=` / `--pmem` on a regular file; evicted pages are dropped from the page
     * cache and read back from the file), `dax` (the file on a DAX device or file system: no page cache, so
     * nothing is ever read back). `read`: how long reading one page back (swap-in or file read) takes.
     */
    ram_backing: z
      .strictObject({ kind: z.enum(['anon', 'file', 'dax']).default('anon'), read: delay.default(1_000_000) })
      .optional(),
  })
  .prefault({});

/**
 * Host memory operations (docs/scenarios.md, "Host memory operations"): the host kernel's mm acting on
 * guest RAM, with the MMU-notifier calls KVM sees. Each names guest pages by `gpa` (page-aligned down) and
 * `pages`; they need `vm.mmu_notifiers: true` (checked in load_script.ts). They act on no vCPU.
 */
const pages = intIn(1, 1 << 20).default(1);
const hostMm = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.strictObject({ op: z.literal(kind), gpa, pages, ...shape });
export const HOST_AGE_KINDS = ['clear_flush_young', 'clear_young', 'test_young'] as const;
export const HostMmOpSchema = z.discriminatedUnion('op', [
  hostMm('host_reclaim', {}),
  hostMm('host_dontneed', {}),
  /** `outside: true`: a host range outside every memslot (then `gpa` is not given). */
  hostMm('host_munmap', { gpa: gpa.optional(), outside: z.boolean().default(false) }),
  /** Either `gpa` + `pages` (contiguous) or `gpas` (a list); the first page becomes the KSM page. */
  hostMm('host_ksm_merge', { gpa: gpa.optional(), gpas: z.array(gpa).min(1).optional() }),
  hostMm('host_cow', {}),
  hostMm('host_mprotect', { prot: z.enum(['ro', 'rw']) }),
  hostMm('host_numa_protnone', {}),
  hostMm('host_migrate', {}),
  hostMm('host_thp_split', {}),
  hostMm('host_thp_collapse', {}),
  hostMm('host_age', { kind: z.enum(HOST_AGE_KINDS) }),
  /**
   * Host memory pressure for KVM's allocations (needs vm.mmu_caches): from now on `after` allocations
   * succeed, then `fails` fail ('all': every later one; 0 ends the pressure).
   */
  z.strictObject({
    op: z.literal('host_alloc_fail'),
    after: intIn(0, 1 << 20).default(0),
    fails: z.union([intIn(0, 1 << 20), z.literal('all')]).default('all'),
  }),
]);
export type HostMmOp = z.output<typeof HostMmOpSchema>;
export const HOST_MM_OP_NAMES: readonly string[] = HostMmOpSchema.options.map((o) => o.shape.op.value);
export const isHostMmOp = (op: ScriptOp): op is HostMmOp => HOST_MM_OP_NAMES.includes(op.op);

/**
 * The guest mapping API (docs/mmu.md, "Guest mapping"): a host-internal `caller` (host_maps.ts
 * HOST_MAP_CALLERS) maps a guest page with kvm_vcpu_map on vCPU `vcpu`, writes or reads through the
 * mapping, and unmaps it. They need `vm.maps` (checked in load_script.ts). `writable` is ≥6.13's map-time
 * choice, `dirty` the 5.x unmap argument; both default to what the caller's kernel call site passes.
 * `atomic` is steal time's atomic kvm_map_gfn (5.6 … 5.16).
 */
const caller = z.enum(HOST_MAP_CALLERS);
const mapOp = <K extends string, S extends z.ZodRawShape>(kind: K, shape: S) =>
  z.strictObject({ op: z.literal(kind), vcpu, caller, ...shape });
export const MapOpSchema = z.discriminatedUnion('op', [
  mapOp('vcpu_map', { gpa, writable: z.boolean().optional(), atomic: z.boolean().optional() }),
  mapOp('map_write', { value: uint(32) }),
  mapOp('map_read', {}),
  mapOp('vcpu_unmap', { dirty: z.boolean().optional(), atomic: z.boolean().optional() }),
]);
export type MapOp = z.output<typeof MapOpSchema>;
export const MAP_OP_NAMES: readonly string[] = MapOpSchema.options.map((o) => o.shape.op.value);
export const isMapOp = (op: ScriptOp): op is MapOp => MAP_OP_NAMES.includes(op.op);

/**
 * Migration (issue 17, docs/peer-suites.md): `migrate` saves each vCPU's state on the source VM (KVM_GET_MSRS
 * of `save`, one batch that stops at the first MSR KVM does not return; KVM_GET_LAPIC with `lapic`) and
 * moves the script to a fresh destination VM of the same configuration. The guest's memory and registers
 * travel with it (RAM, and what KVM_SET_REGS/KVM_SET_SREGS restore: CR0.PG, CR3, CR2, RFLAGS.IF, CPL, the
 * APIC base); the vCPUs' PV MSRs and LAPIC registers are restored only by the ops that follow:
 * `host_restore_msrs` (one KVM_SET_MSRS of saved values: an entry names an MSR, or `{ msr, from }` to put
 * the value saved for `from` into `msr` — the QEMU 2020 bug), `host_restore_lapic` (KVM_SET_LAPIC of the
 * saved SVR and TPR). With `memslots: later` the destination's RAM memslot does not exist until
 * `host_add_memslot` (KVM_SET_USER_MEMORY_REGION), as when a VMM restores the vCPUs first.
 */
const restoreEntry = z.union([msr, z.strictObject({ msr, from: msr })]);
export const MigrationOpSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('migrate'),
    save: z.array(msr).default([]),
    lapic: z.boolean().default(true),
    memslots: z.enum(['now', 'later']).default('now'),
  }),
  z.strictObject({ op: z.literal('host_restore_msrs'), vcpu, entries: z.array(restoreEntry).min(1) }),
  z.strictObject({ op: z.literal('host_restore_lapic'), vcpu }),
  z.strictObject({ op: z.literal('host_add_memslot') }),
]);
export type MigrationOp = z.output<typeof MigrationOpSchema>;

/**
 * Host memory pressure on the bare-guest runner (issue 17; with vm.mmu_notifiers use host_reclaim and the
 * other host memory operations instead): `host_evict` takes guest pages away from the VMM. `from: mapping`
 * unmaps them from the VMM's page tables but leaves them in memory (a file page in the page cache, an anon
 * page in the swap cache): KVM's next fault is a minor fault, resolved without I/O, so never an async PF.
 * `from: memory` evicts them outright (file: dropped from the page cache; anon: swapped out): the next fault
 * must read the page back (vm.ram_backing.read), which is what async PF is for. DAX memory is never
 * evicted from memory. The op's value is the number of pages that left memory.
 */
export const PressureOpSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('host_evict'),
    gpa,
    pages: intIn(1, 1 << 20).default(1),
    from: z.enum(['mapping', 'memory']).default('memory'),
  }),
]);
export type PressureOp = z.output<typeof PressureOpSchema>;
export const isPressureOp = (op: ScriptOp): op is PressureOp => op.op === 'host_evict';
export const MIGRATION_OP_NAMES: readonly string[] = MigrationOpSchema.options.map((o) => o.shape.op.value);
export const isMigrationOp = (op: ScriptOp): op is MigrationOp => MIGRATION_OP_NAMES.includes(op.op);

/**
 * Any op of a script: a guest or VMM op (OpSchema), a host memory operation, a guest-mapping op or a
 * migration op.
 */
const ScriptOpSchema = z.discriminatedUnion('op', [
  ...OpSchema.options,
  ...HostMmOpSchema.options,
  ...MapOpSchema.options,
  ...MigrationOpSchema.options,
  ...PressureOpSchema.options,
]);
export type ScriptOp = Op | HostMmOp | MapOp | MigrationOp | PressureOp;
/** The vCPU an op names (host memory operations and VM-wide migration ops act on none: 0, for record keys). */
export const opVcpu = (op: ScriptOp): number =>
  isHostMmOp(op) || op.op === 'migrate' || op.op === 'host_add_memslot' || op.op === 'host_evict'
    ? 0
    : (op.vcpu ?? 0);

export const ScriptSchema = z.strictObject({
  kind: z.literal('script'),
  arch: z.literal('x86').default('x86'),
  name: z.string().optional(),
  description: z.string().optional(),
  era: z.enum(ERA_NAMES).default('6.18'),
  /** Historical bugs switched back on (docs/bugs.md). */
  bugs: z.array(z.enum(BUG_NAMES)).default([]),
  /** Variant modules (docs/variants.md), paths relative to this file; applied after the bug switches. */
  variants: z.array(z.string().min(1)).optional(),
  vm: ScriptVmSchema,
  ops: z.array(ScriptOpSchema).min(1),
  handlers: ScriptHandlersSchema,
  /**
   * A Linux guest instead of the bare test guest (docs/scenarios.md, "Scripts with the Linux guest"):
   * it boots and runs its tasks; `ops` are host-side only.
   */
  guest: LinuxGuestSchema.optional(),
  /** What the transcript must show (src/script/x86_expect.ts); a mismatch makes `kvmsim script` exit 1. */
  expect: X86ExpectSchema.optional(),
});
export type Script = z.output<typeof ScriptSchema>;
export type { Handlers, Op } from '../guest/x86/ops.ts';
