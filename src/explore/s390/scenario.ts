// `kind: explore`, `arch: s390` scenarios: a small host (a few VMs and vCPUs, registered ISCs, a budget of
// firmware AIs per VM) whose every reachable state the explorer visits, checking the selected properties
// (src/s390/invariants.ts). A scenario states what the search should find — `ok`, or a violation of a
// property — so the same file is a regression test for a fix (its bug found with the pre-fix switch, clean
// without it).
import { z } from 'zod';
import { PROPERTIES, type PropertyName, splitViolation } from '../../s390/invariants.ts';
import { maskOf } from '../../s390/isc.ts';
import { ALERT_WALK_KINDS, FIX_SWITCHES, STRATEGIES } from '../../s390/strategy.ts';
import { setupWorld } from '../../s390/vm.ts';
import type { S390World } from '../../s390/world.ts';
import { validateScenario } from '../../scenario/load.ts';
import { ScenarioError } from '../../scenario/scenario_error.ts';
import { bfs } from '../bfs.ts';
import { dfs } from '../dfs.ts';
import type { Model } from '../model.ts';
import type { SearchResult, SearchStats, Trace } from '../search_types.ts';
import { renderTrace } from '../trace.ts';
import { gisaModel } from './model.ts';

const isc = z.number().int().min(0).max(7);

const vmSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9_]*$/, 'expected a lowercase name like "a" or "guest_1"'),
  /** vCPU count (ids 0..n-1), or explicit vCPU ids (sparse ids exercise F1). */
  vcpus: z.number().int().min(1).max(31).optional(),
  vcpu_ids: z.array(z.number().int().min(0).max(30)).min(1).optional(),
  /** Guest ISCs registered with kvm_s390_gisc_register. */
  gisc: z.array(isc).min(1),
  /** Per vCPU, the ISCs enabled in CR6 (default: all eight). */
  cr6: z.array(z.array(isc)).optional(),
  /** Firmware AIs the environment may still raise on this VM (bounds the state space). */
  ai_budget: z.number().int().min(0).max(255),
});

export const s390ExploreSchema = z.strictObject({
  arch: z.literal('s390'),
  kind: z.literal('explore'),
  name: z.string().optional(),
  description: z.string().optional(),
  strategy: z.enum(STRATEGIES).optional(),
  fixes: z.strictObject(Object.fromEntries(FIX_SWITCHES.map((f) => [f, z.boolean().optional()]))).optional(),
  alert_walk: z.enum(ALERT_WALK_KINDS).optional(),
  /** Changes no kernel has, to test a suggested fix against a property. */
  what_if: z
    .strictObject({
      /** kvm_s390_gisa_destroy waits for in-flight alert-list walks before it returns (spec §6 item 11). */
      destroy_waits_for_walks: z.boolean().optional(),
    })
    .optional(),
  vms: z.array(vmSchema).min(1).max(8),
  /** What the environment may do besides firmware AIs and the guests entering, leaving SIE and idling. */
  env: z
    .strictObject({
      /** User space destroys each VM once, at any point. */
      destroys: z.boolean().optional(),
      /** Halted vCPUs may re-check without a wake-up. */
      spurious_wakeups: z.boolean().optional(),
    })
    .optional(),
  /** Properties to check (default: all). */
  check: z.array(z.enum(PROPERTIES)).min(1).optional(),
  search: z
    .strictObject({
      strategy: z.enum(['bfs', 'dfs']).optional(),
      max_states: z.number().int().min(1).optional(),
    })
    .optional(),
  /** What the search should find: `ok`, or a violation whose property starts with `property`. */
  expect: z.union([
    z.literal('ok'),
    z.strictObject({ violation: z.string().min(1), max_steps: z.number().int().min(1).optional() }),
  ]),
});

export type S390ExploreScenario = z.output<typeof s390ExploreSchema>;

export function parseS390Explore(raw: unknown, file: string): S390ExploreScenario {
  const s = validateScenario(file, raw, s390ExploreSchema);
  const names = new Set<string>();
  s.vms.forEach((vm, i) => {
    const at = `vms[${i}]`;
    if (names.has(vm.name)) throw new ScenarioError(file, `${at}.name`, `VM name "${vm.name}" is used twice`);
    names.add(vm.name);
    if ((vm.vcpus === undefined) === (vm.vcpu_ids === undefined))
      throw new ScenarioError(file, at, 'give vcpus or vcpu_ids (exactly one)');
    const n = vm.vcpu_ids?.length ?? vm.vcpus!;
    if (vm.vcpu_ids && new Set(vm.vcpu_ids).size !== n)
      throw new ScenarioError(file, `${at}.vcpu_ids`, 'vCPU ids must be distinct');
    if (vm.cr6 && vm.cr6.length !== n)
      throw new ScenarioError(file, `${at}.cr6`, `expected one ISC list per vCPU (${n})`);
  });
  return s;
}

/** The host the scenario describes, ready to explore from. */
export function exploreWorld(s: S390ExploreScenario): S390World {
  const w = setupWorld(
    {
      strategy: s.strategy ?? 'current',
      fixes: s.fixes,
      alert_walk: s.alert_walk,
      destroy_waits_for_walks: s.what_if?.destroy_waits_for_walks,
    },
    s.vms.map((vm) => ({
      name: vm.name,
      vcpu_ids: vm.vcpu_ids ?? Array.from({ length: vm.vcpus! }, (_, i) => i),
      gisc: vm.gisc,
      ai_budget: vm.ai_budget,
    })),
  );
  s.vms.forEach((spec, m) => {
    spec.cr6?.forEach((iscs, c) => {
      w.vms[m]!.vcpus[c]!.cr6 = maskOf(iscs);
    });
  });
  return w;
}

/** The scenario's model; `check` overrides the scenario's properties (a replay checks the saved one). */
export function exploreModel(s: S390ExploreScenario, check?: readonly PropertyName[]): Model<S390World> {
  return gisaModel(exploreWorld(s), {
    explore: { destroys: s.env?.destroys, spuriousWakeups: s.env?.spurious_wakeups },
    check: check ?? ((s.check ?? PROPERTIES) as PropertyName[]),
    name: s.name,
  });
}

export const DEFAULT_MAX_STATES = 5_000_000;

export interface ExploreOutcome {
  readonly name: string;
  readonly kind: SearchResult<S390World>['kind'];
  /** Which budget stopped the search (kind 'budget'). */
  readonly budget?: string;
  /** The violation message, "<property prefix>: <detail>" (src/s390/invariants.ts). */
  readonly property?: string;
  /** The violated property's name (`list`, `lost_ai`, `destroy`, `no-walk-after-destroy`) and the rest. */
  readonly propertyName?: PropertyName;
  readonly detail?: string;
  readonly states: number;
  readonly transitions: number;
  readonly maxDepth: number;
  readonly bytesPerState: number;
  /** The engine's statistics in full, and the words a state takes. */
  readonly stats: SearchStats;
  readonly stateWords: number;
  /** Steps in the counterexample (a BFS one is shortest). */
  readonly steps?: number;
  readonly labels?: readonly string[];
  /** The counterexample's step ids from the initial state (what `--save` writes). */
  readonly stepIds?: readonly number[];
  /** The counterexample, rendered (initial state, then each step and what it changed). */
  readonly trace?: string;
  /** What the scenario expected, and whether the search found exactly that. */
  readonly expected: string;
  readonly asExpected: boolean;
}

export interface ExploreRunOptions {
  /** Overrides the scenario's search.strategy. */
  strategy?: 'bfs' | 'dfs';
  /** Overrides the scenario's search.max_states. */
  maxStates?: number;
  maxMemBytes?: number;
  /** Asked every 65,536 expanded states; true ends the search as a budget (the CLI's --max-time). */
  shouldStop?: () => boolean;
}

/** Runs the search a scenario describes; options override its `search:` settings. */
export function runS390Explore(s: S390ExploreScenario, opts: ExploreRunOptions = {}): ExploreOutcome {
  const model = exploreModel(s);
  const maxStates = opts.maxStates ?? s.search?.max_states ?? DEFAULT_MAX_STATES;
  const search = (opts.strategy ?? s.search?.strategy) === 'dfs' ? dfs : bfs;
  const r = search(model, {
    maxStates,
    ...(opts.maxMemBytes !== undefined ? { maxMemBytes: opts.maxMemBytes } : {}),
    ...(opts.shouldStop ? { onProgress: () => (opts.shouldStop?.() ? ('stop' as const) : undefined) } : {}),
  });
  const trace: Trace<S390World> | undefined =
    r.kind === 'violation' || r.kind === 'invalid-end' ? r.trace : undefined;
  const property = r.kind === 'violation' || r.kind === 'invalid-end' ? r.property : undefined;
  const expected = s.expect === 'ok' ? 'ok' : `violation: ${s.expect.violation}`;
  const asExpected =
    s.expect === 'ok'
      ? r.kind === 'ok'
      : property?.startsWith(s.expect.violation) === true &&
        (s.expect.max_steps === undefined || trace!.steps.length <= s.expect.max_steps);
  const split = property !== undefined ? splitViolation(property) : null;
  return {
    name: s.name ?? model.name,
    kind: r.kind,
    ...(r.kind === 'budget' ? { budget: r.reason } : {}),
    ...(property !== undefined ? { property } : {}),
    ...(split ? { propertyName: split.property, detail: split.detail } : {}),
    states: r.stats.states,
    transitions: r.stats.transitions,
    maxDepth: r.stats.maxDepth,
    bytesPerState: Math.round(r.stats.bytesPerState * 10) / 10,
    stats: r.stats,
    stateWords: model.stateWords,
    ...(trace
      ? {
          steps: trace.steps.length,
          labels: trace.labels,
          stepIds: trace.steps,
          trace: renderTrace(model, trace),
        }
      : {}),
    expected,
    asExpected,
  };
}

/** The scenario's expectation in words: "all properties hold", or "a violation of destroy starting \"…\"". */
export function describeExpectation(s: S390ExploreScenario): string {
  if (s.expect === 'ok') return 'all checked properties hold';
  const split = splitViolation(s.expect.violation);
  const what = split
    ? `a violation of ${split.property}${split.detail ? ` whose message starts "${split.detail}"` : ''}`
    : `a violation whose message starts "${s.expect.violation}"`;
  return s.expect.max_steps !== undefined ? `${what}, within ${s.expect.max_steps} steps` : what;
}
