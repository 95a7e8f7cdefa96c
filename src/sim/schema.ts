// The `kind: sim` scenario (docs/simulator.md): a host with RAM and a swap device, VMs with a protocol
// mode and a workload, costs, and how long to run. Output of the schema is still one entry per `vms`
// item (with `count`); load_sim.ts expands and cross-checks it.
import { z } from 'zod';
import { LINUX_GUEST_KINDS } from '../guest/x86/linux/config.ts';
import { BUG_NAMES } from '../host/x86/bugs.ts';
import { ERA_NAMES } from '../host/x86/era.ts';
import { intIn, show, withInputSide } from '../scenario/values.ts';
import { COST_NAMES, DEFAULT_COSTS, type SimCosts } from './costs.ts';
import type { DistSpec } from './engine/dist.ts';
import { durationDistSchema } from './engine/dist_schema.ts';
import { durationSchema, sizeSchema } from './engine/quantity_schema.ts';

export const APF_MODES = ['off', 'sync', 'legacy', 'interrupt'] as const;
export type ApfMode = (typeof APF_MODES)[number];

export const PATTERN_KINDS = ['uniform', 'hotcold', 'scan', 'zipf', 'bernoulli'] as const;

/** Whether a duration distribution can produce more than 0 ns (exponential and lognormal always can). */
function canLast(d: DistSpec): boolean {
  switch (d.dist) {
    case 'constant':
      return d.value > 0;
    case 'uniform':
      return d.max > 0;
    case 'empirical':
      return d.values.some((v, i) => v > 0 && (d.weights === undefined || d.weights[i]! > 0));
    default:
      return true;
  }
}
const ratio = (what: string) =>
  z
    .number({ error: `${what} must be a number in [0, 1]` })
    .min(0, `${what} must be >= 0`)
    .max(1, `${what} must be <= 1`);

const positive = (what: string) =>
  z.number({ error: `${what} must be a number > 0` }).gt(0, `${what} must be > 0`);

const PATTERNS = {
  uniform: z.strictObject({ kind: z.literal('uniform') }),
  hotcold: z.strictObject({
    kind: z.literal('hotcold'),
    /** Fraction of the working set that is hot. */
    hot_pages: ratio('hot_pages').refine((x) => x > 0, 'hot_pages must be > 0'),
    /** Fraction of touches that go to the hot pages. */
    hot_touches: ratio('hot_touches'),
  }),
  scan: z.strictObject({ kind: z.literal('scan'), stride: intIn(1, 1 << 20).default(1) }),
  zipf: z.strictObject({ kind: z.literal('zipf'), s: positive('s') }),
  bernoulli: z.strictObject({ kind: z.literal('bernoulli'), p: ratio('p') }),
} as const;

export type PatternSpec = z.output<(typeof PATTERNS)[keyof typeof PATTERNS]>;

/** Dispatches on `kind` by hand so that an error is one issue at the offending field. */
const patternSchema = withInputSide(
  z.unknown().transform((input, ctx): PatternSpec => {
    const kind = typeof input === 'object' && input !== null ? (input as { kind?: unknown }).kind : undefined;
    if (typeof kind !== 'string' || !(PATTERN_KINDS as readonly string[]).includes(kind)) {
      ctx.issues.push({
        code: 'custom',
        message: `expected one of ${PATTERN_KINDS.map((k) => JSON.stringify(k)).join(', ')}, got ${show(kind)}`,
        input,
        path: ['kind'],
      });
      return z.NEVER;
    }
    const r = PATTERNS[kind as keyof typeof PATTERNS].safeParse(input);
    if (r.success) return r.data;
    for (const issue of r.error.issues) ctx.issues.push({ ...issue, input } as z.core.$ZodRawIssue);
    return z.NEVER;
  }),
  z.union(Object.values(PATTERNS)),
);

const WorkloadSchema = z.strictObject({
  /** Guest tasks per vCPU (each pinned to its vCPU's runqueue at start). */
  tasks_per_vcpu: intIn(1, 256).default(1),
  /** Length of a compute burst. */
  burst: durationDistSchema
    .refine(canLast, {
      message:
        'a compute burst must be able to last more than 0 ns: with 0-ns bursts on resident pages virtual time never advances',
    })
    .default({ dist: 'exponential', mean: 100_000 }),
  /** Page touches after each burst (not used by `bernoulli`). */
  touches_per_burst: intIn(0, 1_000_000).default(1),
  /** Fraction of touches that are writes. */
  write_fraction: ratio('write_fraction').default(0.3),
  /** The pages the pattern ranges over (default: all guest RAM above the kernel's). */
  working_set: sizeSchema.optional(),
  pattern: patternSchema,
  /** Preempt a task after this many completed actions if another is runnable (0: only on the tick). */
  slice_actions: intIn(0, 1 << 30).default(0),
});
export type WorkloadSpec = z.output<typeof WorkloadSchema>;

const VmEntrySchema = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9_.-]+$/, 'a name of letters, digits, "_", "." and "-"')
    .optional(),
  /** This many identical VMs (named name-0, name-1, …). */
  count: intIn(1, 4096).default(1),
  memory: sizeSchema,
  vcpus: intIn(1, 64).default(1),
  apf: z.enum(APF_MODES).default('interrupt'),
  /** Host kernel era; default per mode (legacy: 4.19, otherwise 6.18). */
  era: z.enum(ERA_NAMES).optional(),
  /** Guest kernel; default per mode (legacy: linux-4.19, otherwise linux-6.x). */
  guest: z.enum(LINUX_GUEST_KINDS).optional(),
  /** Historical bug switches (docs/bugs.md), host and guest side. */
  bugs: z.array(z.enum(BUG_NAMES)).default([]),
  /** Variant modules for this VM (docs/variants.md), after the scenario's `variants`; paths relative to the file. */
  variants: z.array(z.string().min(1)).default([]),
  /** Fraction of guest RAM resident on the host at start (the workload's most popular pages first). */
  initial_residency: ratio('initial_residency').default(1),
  /**
   * The guest's scheduler tick (a reschedule interrupt to every busy vCPU); 0 turns it off. At least
   * 100us (Linux's HZ is 100 to 1000, a 1 to 10 ms tick): a nanosecond tick would be an interrupt storm
   * that never lets virtual time advance usefully.
   */
  tick: durationSchema
    .refine((t) => t === 0 || t >= 100_000, {
      message: 'expected 0 (no tick) or a duration of at least 100us (Linux ticks at 100 to 1000 Hz)',
    })
    .default(4_000_000),
  /**
   * With host.ksm: the fraction of guest pages whose content is a duplicate KSM can merge (zero pages, the
   * same kernel and libraries in identical VMs), and how many distinct such contents there are.
   */
  duplicate_pages: ratio('duplicate_pages').default(0),
  duplicate_kinds: intIn(1, 255).default(1),
  workload: WorkloadSchema,
});

const costShape = Object.fromEntries(
  COST_NAMES.map((n) => [n, durationSchema.default(DEFAULT_COSTS[n])]),
) as Record<keyof SimCosts, z.ZodDefault<typeof durationSchema>>;

const HostSchema = z.strictObject({
  /** Host RAM available to guest memory; above it, reclaim evicts guest pages. */
  ram: sizeSchema,
  /** The eviction policy: CLOCK (second chance over the referenced bits). */
  reclaim: z.enum(['clock']).default('clock'),
  swap: z.strictObject({
    /** Requests the device serves at once. */
    channels: intIn(1, 65536).default(1),
    /** Service time of one page-in. */
    latency: durationDistSchema,
  }),
  /**
   * Model KVM's MMU notifiers (VmConfig.mmu_notifiers, docs/mmu.md): reclaim runs invalidate_range_start →
   * PTE clear → end, faults take the sequence snapshot and can retry; the MMU metrics are reported.
   */
  mmu_notifiers: z.boolean().default(false),
  /**
   * Run KSM over guest memory (every VM's RAM is MADV_MERGEABLE, as QEMU's default mem-merge=on makes it):
   * ksmd wakes every `sleep_millisecs` and scans `pages_to_scan` present pages (src/sim/ksm.ts). Needs
   * mmu_notifiers: merges reach KVM as invalidations.
   */
  ksm: z
    .strictObject({
      pages_to_scan: intIn(1, 1 << 24).default(100),
      sleep_millisecs: durationSchema.default(20_000_000).refine((x) => x > 0, 'expected more than 0'),
    })
    .optional(),
  /**
   * Automatic NUMA balancing (src/sim/numa_balancing.ts): every `scan_period` each VM's next `scan_size`
   * of guest RAM is made PROT_NONE (one invalidation); hinting faults migrate misplaced pages. Needs
   * mmu_notifiers.
   */
  numa_balancing: z
    .strictObject({
      scan_size: sizeSchema.default(256 * 2 ** 20),
      scan_period: durationSchema.default(1_000_000_000).refine((x) => x > 0, 'expected more than 0'),
      nodes: intIn(1, 64).default(2),
      misplaced_pages: ratio('misplaced_pages').default(0.1),
    })
    .optional(),
  /**
   * Proactive memory compaction (src/sim/compaction.ts): kcompactd wakes every `interval` and migrates
   * `pages_per_wake` resident guest pages (one invalidation each). Needs mmu_notifiers.
   */
  compaction: z
    .strictObject({
      interval: durationSchema.default(500_000_000).refine((x) => x > 0, 'expected more than 0'),
      pages_per_wake: intIn(1, 1 << 24),
    })
    .optional(),
  /**
   * Transparent huge pages (src/sim/khugepaged.ts, src/host/x86/mmu_hugepage.ts): khugepaged wakes every
   * `scan_sleep_millisecs` and collapses fully resident 2 MiB ranges among the next `pages_to_scan` pages'
   * worth; KVM maps a huge range with one 2 MiB SPTE; reclaim splits a huge range first. Needs mmu_notifiers.
   */
  thp: z
    .strictObject({
      khugepaged: z
        .strictObject({
          pages_to_scan: intIn(1, 1 << 24).default(4096),
          scan_sleep_millisecs: durationSchema
            .default(10_000_000_000)
            .refine((x) => x > 0, 'expected more than 0'),
          max_ptes_swap: intIn(0, 511).default(64),
        })
        .prefault({}),
    })
    .optional(),
  /**
   * With mmu_notifiers: model KVM's MMU memory caches (VmConfig.mmu_caches, docs/mmu.md): topups, the
   * page tables each install takes, and the cache metrics. Absent: off.
   */
  mmu_caches: z.boolean().optional(),
});

export const SimScenarioSchema = z.strictObject({
  kind: z.literal('sim'),
  name: z.string().optional(),
  description: z.string().optional(),
  seed: intIn(0, 0xffffffff).default(1),
  /** Virtual time to simulate (after which the run stops). */
  duration: durationSchema,
  /**
   * Measured metrics exclude the first `warmup` of virtual time; `auto`: warm up until the host is at
   * steady state (control.ts), then measure `duration` (the run simulates warm-up + duration).
   */
  warmup: z.union([z.literal('auto'), durationSchema]).default(0),
  /** Stop early once this many page-ins (major faults) happened. */
  max_faults: intIn(1, Number.MAX_SAFE_INTEGER).optional(),
  /** Variant modules every VM runs (docs/variants.md), paths relative to this file. */
  variants: z.array(z.string().min(1)).default([]),
  host: HostSchema,
  costs: z.strictObject(costShape).prefault({}),
  vms: z.array(VmEntrySchema).min(1, 'expected at least one VM'),
});
