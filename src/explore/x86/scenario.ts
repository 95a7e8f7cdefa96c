// The `kind: explore` scenario (docs/scenarios.md, "Explore scenarios"): YAML → zod → cross-field checks →
// an ExploreWorldConfig plus search options. Task steps use the syntax of a script's Linux guest
// (`{touch: gpa, mode, write}`, `{compute: duration}`), bare-guest programs the script op syntax; what
// cannot be explored (host-side ops, fault-in delays, stores into guest memory) is rejected by name.
import { z } from 'zod';
import { LINUX_GUEST_KINDS, type LinuxGuestKind } from '../../guest/x86/linux/config.ts';
import type { TaskAction } from '../../guest/x86/linux/program.ts';
import { BUG_NAMES, MMU_BUG_NAMES } from '../../host/x86/bugs.ts';
import { ERA_NAMES, eraConfig } from '../../host/x86/era.ts';
import { HOST_MAP_CALLERS, hostMapEra } from '../../host/x86/host_maps.ts';
import { SP_ENCODE_MAX } from '../../host/x86/kvm_mmu_page.ts';
import { HOST_MM_OPS } from '../../host/x86/primary_mmu.ts';
import { BACKING_KIND_NAMES } from '../../mem/host_backing.ts';
import { readScenarioFile, validateScenario } from '../../scenario/load.ts';
import { ScenarioError } from '../../scenario/scenario_error.ts';
import { intIn, size, uint } from '../../scenario/values.ts';
import { taskStepSchema } from '../../script/linux_schema.ts';
import { HandlersSchema, type Op, OpSchema, VmSchema } from '../../script/schema.ts';
import { BITSTATE_MAX_BITS, BITSTATE_MIN_BITS } from '../bitstate.ts';
import type { ExploreMapsSpec, ExploreWorldConfig } from './config.ts';
import {
  APF_PROPERTIES,
  MAP_INFO_PROPERTIES,
  MAP_PROPERTIES,
  MEMCACHE_PROPERTIES,
  MMU_PROPERTIES,
  PROPERTY_NAMES,
  type PropertyName,
} from './properties.ts';

/** The guest-mapping switches: they act on host-internal map callers (`maps:`), not on the notifiers. */
const MAP_BUGS: ReadonlySet<string> = new Set([
  'unmap-poison-page-check',
  'apic-access-page-unmapped-clean',
  'refcount-nonrefcounted-page',
]);
/** Bug switches that only mean something with the notifier model. */
const MMU_BUGS: ReadonlySet<string> = new Set(MMU_BUG_NAMES.filter((b) => !MAP_BUGS.has(b)));

/** `{touch: …}` or `{compute: …}`: a script's Linux-guest task step without fault-in delays. */
const StepSchema = taskStepSchema({ backing: false });

const TaskSchema = z.strictObject({
  cpu: intIn(0, 3).default(0),
  /** This many identical tasks (interchangeable: the symmetry reduction applies to them). */
  count: intIn(1, 8).default(1),
  program: z.array(StepSchema).min(1),
});

const LinuxSchema = z.strictObject({
  kind: z.literal('linux'),
  kernel: z.enum(LINUX_GUEST_KINDS as [LinuxGuestKind, ...LinuxGuestKind[]]).default('linux-5.10'),
  preempt: z.boolean().default(false),
  tasks: z.array(TaskSchema).min(1),
  max_dummies: intIn(0, 16).default(2),
  slice: intIn(0, 100).default(0),
  apic_enable_at_boot: z.boolean().default(true),
  wake_all_frees_dummies: z.boolean().default(false),
});

const BareSchema = z.strictObject({
  kind: z.literal('bare'),
  /** Per vCPU, the ops it runs (script op syntax); afterwards it idles in `sti; hlt`. */
  vcpus: z.array(z.array(OpSchema)).min(1),
  handlers: HandlersSchema,
});

const budget = () => intIn(0, 8).default(0);
const EnvSchema = z
  .strictObject({
    en_rewrite: budget(),
    svr_toggle: budget(),
    smi: budget(),
    init: budget(),
    evict: budget(),
  })
  .prefault({});

/** `mmu:`: the MMU-notifier model (docs/mmu.md). Present (even empty) turns it on. */
const MmuSchema = z.strictObject({
  split_fault: z.boolean().default(true),
  seq_start: intIn(0, 2 ** 40).default(0),
  ops: z.array(z.enum(HOST_MM_OPS)).default([]),
  budget: intIn(0, 3).default(0),
  caches: z.boolean().default(false),
  alloc_fail: z
    .strictObject({
      after: intIn(0, 1000).default(0),
      fails: z.union([intIn(1, 1000), z.literal('all')]).default('all'),
      budget: intIn(0, 2).default(1),
    })
    .optional(),
});

/** A range of guest pages. */
const PageRangeSchema = z.strictObject({ gpa: uint(52), pages: intIn(1, 64).default(1) });

/**
 * `maps:`: host-internal callers of the guest mapping API (docs/mmu.md, "Guest mapping"), each running
 * `cycles` map → write → unmap cycles on its page, and the host backing of guest RAM.
 */
const MapsSchema = z.strictObject({
  callers: z
    .array(
      z.strictObject({
        caller: z.enum(HOST_MAP_CALLERS),
        gpa: uint(52),
        vcpu: intIn(0, 3).default(0),
        cycles: intIn(1, 2).default(1),
      }),
    )
    .min(1)
    .max(3),
  allow_unsafe_mappings: z.boolean().default(false),
  dirty_logging: z.boolean().default(true),
  has_iomem: z.boolean().default(true),
  backing: z.array(PageRangeSchema.extend({ kind: z.enum(BACKING_KIND_NAMES) })).default([]),
  readonly: z.array(PageRangeSchema).default([]),
  smm_only: z.array(PageRangeSchema).default([]),
});

const SearchSchema = z
  .strictObject({
    strategy: z.enum(['bfs', 'dfs', 'bitstate', 'swarm']).default('bfs'),
    /**
     * With strategy bitstate: log2 of the bit array's size in bits (28 = 32 MiB; bitstate.ts); with swarm,
     * of each search's.
     */
    bitstate_bits: intIn(BITSTATE_MIN_BITS, BITSTATE_MAX_BITS).default(28),
    /** With strategy swarm: how many diversified searches (swarm.ts), and the seed of their orders/hashes. */
    swarm_searches: intIn(1, 1024).default(8),
    swarm_seed: intIn(0, 2 ** 31 - 1).default(1),
    max_states: intIn(1, 2 ** 28).default(1_000_000),
    max_mem: size(1, 2 ** 40).optional(),
    symmetry: z.boolean().default(true),
    por: z.boolean().default(true),
  })
  .prefault({});

const ExpectSchema = z.strictObject({
  verdict: z.enum(['ok', 'counterexample']),
  property: z.enum(PROPERTY_NAMES).optional(),
});

export const ExploreScenarioSchema = z.strictObject({
  kind: z.literal('explore'),
  arch: z.literal('x86').default('x86'),
  name: z.string().optional(),
  description: z.string().optional(),
  era: z.enum(ERA_NAMES).default('6.18'),
  bugs: z.array(z.enum(BUG_NAMES)).default([]),
  /** Variant modules (docs/variants.md), paths relative to this file; applied after the bug switches. */
  variants: z.array(z.string().min(1)).default([]),
  vm: VmSchema,
  guest: z.discriminatedUnion('kind', [LinuxSchema, BareSchema]),
  environment: EnvSchema,
  mmu: MmuSchema.optional(),
  maps: MapsSchema.optional(),
  properties: z.array(z.enum(PROPERTY_NAMES)).min(1).optional(),
  search: SearchSchema,
  /** What the bug library's test expects of this scenario (documentation for a reader, too). */
  expect: ExpectSchema.optional(),
});
export type ExploreScenario = z.output<typeof ExploreScenarioSchema>;

/** Ops the bare guest can run in an explore world (the others are host-side or write untracked memory). */
const BARE_OPS = new Set<Op['op']>([
  'wrmsr',
  'rdmsr',
  'read_mem',
  'apic_enable',
  'sti',
  'cli',
  'hlt',
  'touch',
  'set_cr0_pg',
  'set_cr3',
  'smi',
  'rsm',
  'enter_l2',
  'leave_l2',
]);

export interface LoadedExplore {
  readonly scenario: ExploreScenario;
  readonly config: ExploreWorldConfig;
}

/** Cross-field checks and the conversion to an ExploreWorldConfig. */
export function toWorldConfig(file: string, s: ExploreScenario): ExploreWorldConfig {
  const vm = s.vm;
  if (vm.vcpus > 4)
    throw new ScenarioError(file, 'vm.vcpus', `expected 1..4 vCPUs for exploration, got ${vm.vcpus}`);
  if (vm.enforce_pv_cpuid && !eraConfig(s.era).hasEnforcePvFeatureCpuid)
    throw new ScenarioError(
      file,
      'vm.enforce_pv_cpuid',
      `KVM_CAP_ENFORCE_PV_FEATURE_CPUID does not exist in era ${s.era} (5.10+)`,
    );
  const inRam = (gpa: bigint, field: string): void => {
    if (gpa >= BigInt(vm.memory))
      throw new ScenarioError(file, field, `expected an address in guest RAM [0, ${vm.memory})`);
  };
  let pages = 0;
  const gfns = new Set<bigint>();
  let guest: ExploreWorldConfig['guest'];
  if (s.guest.kind === 'linux') {
    const g = s.guest;
    if (vm.memory < 0x2000)
      throw new ScenarioError(
        file,
        'vm.memory',
        'expected at least 8KiB (the apf_reason areas live at 0x1000)',
      );
    const tasks: Array<{ cpu: number; program: TaskAction[] }> = [];
    g.tasks.forEach((t, i) => {
      if (t.cpu >= vm.vcpus)
        throw new ScenarioError(
          file,
          `guest.tasks[${i}].cpu`,
          `expected a CPU 0..${vm.vcpus - 1}, got ${t.cpu}`,
        );
      const program: TaskAction[] = t.program.map((st, k) => {
        if ('compute' in st) return { kind: 'compute', ns: st.compute };
        inRam(st.touch, `guest.tasks[${i}].program[${k}].touch`);
        gfns.add(st.touch >> 12n);
        return { kind: 'touch', gpa: Number(st.touch), write: st.write, mode: st.mode };
      });
      for (let c = 0; c < t.count; c++) tasks.push({ cpu: t.cpu, program });
    });
    if (tasks.length > 8)
      throw new ScenarioError(file, 'guest.tasks', `expected at most 8 tasks in all, got ${tasks.length}`);
    guest = {
      kind: 'linux',
      kernel: g.kernel,
      preempt: g.preempt,
      tasks,
      max_dummies: g.max_dummies,
      slice_actions: g.slice,
      apic_enable_at_boot: g.apic_enable_at_boot,
      wake_all_frees_dummies: g.wake_all_frees_dummies,
    };
  } else {
    const g = s.guest;
    if (g.vcpus.length > vm.vcpus)
      throw new ScenarioError(
        file,
        'guest.vcpus',
        `expected at most vm.vcpus = ${vm.vcpus} op lists, got ${g.vcpus.length}`,
      );
    g.vcpus.forEach((ops, v) => {
      ops.forEach((op, k) => {
        const at = `guest.vcpus[${v}][${k}]`;
        if (!BARE_OPS.has(op.op))
          throw new ScenarioError(
            file,
            `${at}.op`,
            `expected one of ${[...BARE_OPS].join(', ')} (ops that run inside the guest), got ${JSON.stringify(op.op)}`,
          );
        if (op.vcpu !== undefined)
          throw new ScenarioError(
            file,
            `${at}.vcpu`,
            'not allowed here: the list says which vCPU runs the op',
          );
        if (op.op === 'touch') {
          if (op.backing !== undefined)
            throw new ScenarioError(
              file,
              `${at}.backing`,
              'not allowed in explore scenarios: every touched page starts swapped out, and completions happen in every order',
            );
          inRam(op.gpa, `${at}.gpa`);
          gfns.add(op.gpa >> 12n);
        }
        if (op.op === 'read_mem' && op.gpa + BigInt(op.size) > BigInt(vm.memory))
          throw new ScenarioError(
            file,
            `${at}.gpa`,
            `expected an address whose ${op.size} bytes lie in guest RAM [0, ${vm.memory})`,
          );
      });
    });
    guest = {
      kind: 'bare',
      programs: g.vcpus,
      handlers: g.handlers,
      ack_before_clear: s.bugs.includes('ack-before-clear'),
    };
  }
  pages = gfns.size;
  if (pages > 4)
    throw new ScenarioError(file, 'guest', `expected at most 4 distinct pages touched, got ${pages}`);
  const caches = s.mmu?.caches === true;
  const maps = s.maps !== undefined ? toMapsSpec(file, s, vm.memory, vm.vcpus) : undefined;
  const properties: PropertyName[] = s.properties ?? [
    ...APF_PROPERTIES,
    ...(s.mmu ? MMU_PROPERTIES : []),
    ...(caches ? MEMCACHE_PROPERTIES : []),
    ...(maps ? MAP_PROPERTIES.filter((p) => !MAP_INFO_PROPERTIES.includes(p)) : []),
  ];
  if (!caches) {
    const p = properties.find((q) => MEMCACHE_PROPERTIES.includes(q));
    if (p !== undefined)
      throw new ScenarioError(
        file,
        'properties',
        `${p} needs the memory-cache model: add \`caches: true\` to \`mmu:\``,
      );
    if (s.mmu?.alloc_fail !== undefined)
      throw new ScenarioError(file, 'mmu.alloc_fail', 'needs the memory-cache model: add `caches: true`');
    const b = s.bugs.find((x) => x === 'cache-min-too-small' || x === 'topup-under-mmu-lock');
    if (b !== undefined)
      throw new ScenarioError(
        file,
        'bugs',
        `${b} is a memory-cache switch: add \`caches: true\` to \`mmu:\``,
      );
  } else if (vm.memory > SP_ENCODE_MAX * 2 * 1024 * 1024)
    throw new ScenarioError(
      file,
      'vm.memory',
      `expected at most ${SP_ENCODE_MAX * 2} MiB with mmu.caches (one state bit per page table)`,
    );
  if (maps === undefined) {
    const needs = s.bugs.find((b) => MAP_BUGS.has(b));
    if (needs !== undefined)
      throw new ScenarioError(file, 'bugs', `${needs} is a guest-mapping switch: add a \`maps:\` block`);
    const p = properties.find((q) => MAP_PROPERTIES.includes(q));
    if (p !== undefined)
      throw new ScenarioError(file, 'properties', `${p} needs guest maps: add a \`maps:\` block`);
  }
  if (s.mmu === undefined) {
    const needs = s.bugs.find((b) => MMU_BUGS.has(b));
    if (needs !== undefined)
      throw new ScenarioError(file, 'bugs', `${needs} is an MMU-notifier switch: add an \`mmu:\` block`);
    const p = properties.find((q) => MMU_PROPERTIES.includes(q));
    if (p !== undefined)
      throw new ScenarioError(file, 'properties', `${p} needs the MMU-notifier model: add an \`mmu:\` block`);
  }
  if (s.mmu !== undefined && s.mmu.ops.length > 0 && s.mmu.budget === 0)
    throw new ScenarioError(file, 'mmu.budget', 'expected 1..3 when mmu.ops names operations, got 0');
  return {
    era: s.era,
    bugs: s.bugs,
    ...(s.variants.length > 0 ? { variants: s.variants } : {}),
    vm: {
      vcpus: vm.vcpus,
      memory: vm.memory,
      irqchip: vm.irqchip,
      kvm_features: vm.kvm_features,
      enforce_pv_cpuid: vm.enforce_pv_cpuid,
      tdp: vm.mmu === 'tdp',
      hlt_in_guest: vm.hlt_in_guest,
      protected_state: vm.protected_state,
      guest_mode: vm.guest_mode,
      pv_msr_unsupported: vm.pv_msr_unsupported,
      ...(vm.lapic_dequeue_gate !== undefined ? { lapic_dequeue_gate: vm.lapic_dequeue_gate } : {}),
    },
    guest,
    env: s.environment,
    properties,
    symmetry: s.search.symmetry,
    ...(s.mmu !== undefined
      ? {
          mmu: {
            split_fault: s.mmu.split_fault,
            seq_start: s.mmu.seq_start,
            ops: s.mmu.ops,
            budget: s.mmu.budget,
            ...(caches ? { caches } : {}),
            ...(s.mmu.alloc_fail !== undefined
              ? {
                  alloc_fail: {
                    after: s.mmu.alloc_fail.after,
                    fails: s.mmu.alloc_fail.fails === 'all' ? -1 : s.mmu.alloc_fail.fails,
                    budget: s.mmu.alloc_fail.budget,
                  },
                }
              : {}),
          },
        }
      : {}),
    ...(maps !== undefined ? { maps } : {}),
  };
}

/** `maps:` → the world's map callers and host backing, with the checks the schema cannot make. */
function toMapsSpec(file: string, s: ExploreScenario, memory: number, vcpus: number): ExploreMapsSpec {
  const m = s.maps!;
  const form = hostMapEra(s.era);
  if (form === null)
    throw new ScenarioError(file, 'era', `kvm_vcpu_map does not exist in era ${s.era} (it appeared in 5.2)`);
  const bug = s.bugs.find((b) => MAP_BUGS.has(b));
  if (bug !== undefined && form === '6.13')
    throw new ScenarioError(
      file,
      'bugs',
      `${bug} re-creates a 5.x kernel (5.2 … 6.12); era ${s.era} has the 6.13 form of kvm_vcpu_map`,
    );
  if (m.allow_unsafe_mappings && form !== '6.13')
    throw new ScenarioError(
      file,
      'maps.allow_unsafe_mappings',
      `the module parameter exists from 6.13; era ${s.era} maps such memory without it`,
    );
  const npages = Math.ceil(memory / 4096);
  const range = (field: string, r: { gpa: bigint; pages: number }) => {
    const gfn = Number(r.gpa >> 12n);
    if (gfn + r.pages > npages)
      throw new ScenarioError(file, field, `expected ${r.pages} page(s) inside guest RAM [0, ${memory})`);
    return { gfn, pages: r.pages };
  };
  const seen = new Set<string>();
  const callers = m.callers.map((c, i) => {
    const at = `maps.callers[${i}]`;
    if (seen.has(c.caller)) throw new ScenarioError(file, `${at}.caller`, `${c.caller} is listed twice`);
    seen.add(c.caller);
    if (c.vcpu >= vcpus)
      throw new ScenarioError(file, `${at}.vcpu`, `expected a vCPU 0..${vcpus - 1}, got ${c.vcpu}`);
    if (c.caller === 'steal_time' && form !== '5.6')
      throw new ScenarioError(
        file,
        `${at}.caller`,
        `steal_time maps through kvm_map_gfn, which exists in 5.6 … 5.16 (eras 5.7 … 5.15); era ${s.era} has the ${form} form`,
      );
    return {
      caller: c.caller,
      gfn: range(`${at}.gpa`, { gpa: c.gpa, pages: 1 }).gfn,
      vcpu: c.vcpu,
      cycles: c.cycles,
    };
  });
  return {
    host: {
      allow_unsafe_mappings: m.allow_unsafe_mappings,
      dirty_logging: m.dirty_logging,
      has_iomem: m.has_iomem,
      backing: m.backing.map((r, k) => ({ ...range(`maps.backing[${k}].gpa`, r), kind: r.kind })),
      readonly: m.readonly.map((r, k) => range(`maps.readonly[${k}].gpa`, r)),
      smm_only: m.smm_only.map((r, k) => range(`maps.smm_only[${k}].gpa`, r)),
    },
    callers,
  };
}

export function parseExplore(raw: unknown, file: string): LoadedExplore {
  const scenario = validateScenario(file, raw, ExploreScenarioSchema);
  return { scenario, config: toWorldConfig(file, scenario) };
}

export function loadExplore(file: string): LoadedExplore & { raw: unknown } {
  const raw = readScenarioFile(file, { bigint: true });
  return { ...parseExplore(raw, file), raw };
}
