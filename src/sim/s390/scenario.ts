// `kind: sim`, `arch: s390` scenarios: a workload (VMs whose vCPUs alternate between SIE and enabled waits,
// passthrough devices raising adapter interruptions per ISC) run on the s390 model under one or more host
// configurations (variants), for one or more seeds, with optional expected directions between variants.
// Parsing is zod plus cross-field checks; every error is one line naming the file and the field.
import { z } from 'zod';
import { ALERT_WALK_KINDS, FIX_SWITCHES, STRATEGIES } from '../../s390/strategy.ts';
import { validateScenario } from '../../scenario/load.ts';
import { ScenarioError } from '../../scenario/scenario_error.ts';
import { durationDistSchema } from '../engine/dist_schema.ts';
import { durationSchema } from '../engine/quantity_schema.ts';
import { METRIC_NAMES } from './metrics.ts';

const isc = z.number().int().min(0).max(7);
const fixes = z
  .strictObject(Object.fromEntries(FIX_SWITCHES.map((f) => [f, z.boolean().optional()])))
  .optional();

/** The host side: timings of the alert machinery (the kicker period is the kernel's gi->expires). */
const hostSchema = z.strictObject({
  /** gi->expires, the kicker period (kernel: 50 µs). */
  expires: durationSchema.optional(),
  /** From millicode raising the GAL to gib_alert_irq_handler running on a host CPU. */
  gal_latency: durationDistSchema.optional(),
  /** Cost of one process_gib_alert_list micro-step (one xchg, or one unlinked GISA). */
  walk_step: durationSchema.optional(),
  alert_walk: z.enum(ALERT_WALK_KINDS).optional(),
});

const deviceSchema = z.strictObject({
  /** The guest ISC the device's adapter interruptions use (registered with kvm_s390_gisc_register). */
  isc,
  /** Time between arrivals (a Poisson device: `{ dist: exponential, mean: … }`). */
  interval: durationDistSchema,
  /** Each arrival is a burst of `count` AIs `gap` apart (default: single AIs). */
  burst: z.strictObject({ count: z.number().int().min(1).max(10_000), gap: durationSchema }).optional(),
});

const vmSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a lowercase name like "guest" or "g_1"'),
  /** Replicas: `count: 16` makes name0 … name15, each with its own random streams. */
  count: z.number().int().min(1).max(1024).optional(),
  vcpus: z.number().int().min(1).max(31),
  /** Per vCPU, the ISCs its guest enables in CR6 (default: every device ISC). */
  cr6: z.array(z.array(isc)).optional(),
  /** SIE time before the guest's next enabled wait. */
  run: durationDistSchema,
  /** The guest timer armed for each wait (clock comparator); omit to wait for an interruption only. */
  idle: durationDistSchema.optional(),
  /** From kvm_vcpu_wake_up to the halted thread re-checking (kvm_vcpu_check_block). */
  wake_latency: durationDistSchema,
  devices: z.array(deviceSchema).min(1),
});

/** A configuration to run the workload under; fields override the scenario's. */
const variantSchema = z.strictObject({
  name: z.string().min(1),
  strategy: z.enum(STRATEGIES).optional(),
  fixes,
  host: hostSchema.optional(),
  /** Overrides every VM's wake_latency (for the "wake-up latency below / above 50 µs" claim). */
  wake_latency: durationDistSchema.optional(),
});

const bound = z.union([z.number(), z.string()]);
/** A direction checked for every seed: `metric` of `variant` compared with a number or another variant. */
const expectSchema = z
  .strictObject({
    metric: z.enum(METRIC_NAMES),
    variant: z.string(),
    lt: bound.optional(),
    le: bound.optional(),
    gt: bound.optional(),
    ge: bound.optional(),
    note: z.string().optional(),
  })
  .refine((e) => [e.lt, e.le, e.gt, e.ge].filter((x) => x !== undefined).length === 1, {
    message: 'give exactly one of lt, le, gt, ge',
  });

export const s390SimSchema = z.strictObject({
  arch: z.literal('s390'),
  kind: z.literal('sim'),
  name: z.string().optional(),
  description: z.string().optional(),
  /** Simulated time per run. */
  duration: durationSchema,
  seeds: z.array(z.number().int().min(0).max(0xffffffff)).min(1).optional(),
  strategy: z.enum(STRATEGIES).optional(),
  fixes,
  host: hostSchema.optional(),
  vms: z.array(vmSchema).min(1),
  variants: z.array(variantSchema).min(1).optional(),
  expect: z.array(expectSchema).optional(),
});

export type S390SimScenario = z.output<typeof s390SimSchema>;
export type SimVmSpec = S390SimScenario['vms'][number];
export type SimVariant = z.output<typeof variantSchema>;
export type SimExpect = z.output<typeof expectSchema>;

/** Validates a parsed YAML/JSON value as an s390 sim scenario; every error is a one-line ScenarioError. */
export function parseS390Sim(raw: unknown, file: string): S390SimScenario {
  const s = validateScenario(file, raw, s390SimSchema);
  const fail = (field: string, msg: string): never => {
    throw new ScenarioError(file, field, msg);
  };
  const names = new Set<string>();
  s.vms.forEach((vm, i) => {
    if (names.has(vm.name)) fail(`vms[${i}].name`, `VM name "${vm.name}" is used twice`);
    names.add(vm.name);
    if (vm.cr6 !== undefined && vm.cr6.length !== vm.vcpus)
      fail(`vms[${i}].cr6`, `expected one ISC list per vCPU (${vm.vcpus})`);
  });
  const variants = new Set<string>();
  (s.variants ?? []).forEach((v, i) => {
    if (variants.has(v.name)) fail(`variants[${i}].name`, `variant "${v.name}" is defined twice`);
    variants.add(v.name);
  });
  const known = variantNames(s);
  (s.expect ?? []).forEach((e, i) => {
    if (!known.includes(e.variant))
      fail(`expect[${i}].variant`, `unknown variant "${e.variant}" (known: ${known.join(', ')})`);
    const other = e.lt ?? e.le ?? e.gt ?? e.ge;
    if (typeof other === 'string' && !known.includes(other))
      fail(`expect[${i}]`, `unknown variant "${other}" (known: ${known.join(', ')})`);
  });
  return s;
}

/** The variants a scenario runs: its own, or one named after its strategy. */
export function variantNames(s: S390SimScenario): string[] {
  return s.variants ? s.variants.map((v) => v.name) : [s.strategy ?? 'current'];
}
