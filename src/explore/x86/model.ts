// The x86 async-PF protocol behind the explorer's Model<S> contract: the working state is an X86World
// (a real VM and guest), encodings are X86World.encode (canonicalized by task symmetry when enabled),
// and steps call the real host and guest code (steps.ts).
//
// Restoring a stored state decodes its words into a world's real objects (src/host/x86/codec.ts, the guests'
// codecs), so expanding a state costs one decode, not a replay from the initial state. copy() reuses the
// words a world was decoded from when it has not changed since, and restore() decodes only the parts of a
// world that differ from the words it holds (X86World.restore).

import { WORK_POOL_SIZE } from '../../host/x86/async_pf_work.ts';
import { pendingSlots } from '../../host/x86/codec.ts';
import type { Model } from '../model.ts';
import { endViolation, invariantViolation, variantViolation } from './checks.ts';
import type { ExploreWorldConfig } from './config.ts';
import { describeWorld } from './describe.ts';
import { buildLayout, stepKey, type WorldLayout } from './layout.ts';
import { AMPLE_NONE, ampleStep } from './por.ts';
import type { PropertyName } from './properties.ts';
import { applyStep, stepEnabled, stepLabel } from './steps.ts';
import { TaskSymmetry } from './symmetry.ts';
import { VcpuSymmetry } from './vcpu_symmetry.ts';
import { X86World } from './world.ts';

/**
 * A world plus its encoding before canonicalization (the words it was last decoded from or encoded to;
 * valid until a step changes it).
 */
export interface X86State {
  readonly world: X86World;
  readonly cache: Int32Array;
  cacheValid: boolean;
}

export interface X86Model extends Model<X86State> {
  readonly layout: WorldLayout;
  readonly checks: ReadonlySet<PropertyName>;
  /** Null when symmetry is off or no two tasks are interchangeable. */
  readonly symmetry: TaskSymmetry | null;
  /** Null when symmetry is off or the vCPUs are not interchangeable (vcpu_symmetry.ts). */
  readonly vcpuSymmetry: VcpuSymmetry | null;
  readonly por: boolean;
  /** Encodes without the symmetry canonicalization (for the liveness pass and replay checks). */
  encodeRaw(s: X86State, out: Int32Array): void;
  /** Model.restore: decodes only the parts of the world that differ from the words it holds. */
  restore(into: X86State, words: Int32Array, offset: number): void;
}

export interface X86ModelOptions {
  /** Override cfg.symmetry. */
  readonly symmetry?: boolean;
  /** Partial-order reduction (por.ts); on by default, always off for the liveness pass. */
  readonly por?: boolean;
  /**
   * With symmetry: also the vCPU symmetry (vcpu_symmetry.ts), where it applies. Opt-in (default false):
   * it changes the reduced searches' state counts, which the stored outputs record.
   */
  readonly vcpuSymmetry?: boolean;
}

const pendScratch = new Int32Array(WORK_POOL_SIZE);
const countScratch = new Int32Array(64);

/** Pending works per vCPU (worker step k of vCPU v is enabled iff k < this). */
function pendingCounts(w: X86World): Int32Array {
  for (let v = 0; v < w.layout.vcpus; v++) countScratch[v] = pendingSlots(w.vcpu(v).async_pf, pendScratch);
  return countScratch;
}

export function x86ExploreModel(cfg: ExploreWorldConfig, opts: X86ModelOptions = {}): X86Model {
  const layout = buildLayout(cfg);
  const template = new X86World(layout);
  const words = template.offsets.words;
  const checks: ReadonlySet<PropertyName> = new Set(cfg.properties);
  const useSymmetry = opts.symmetry ?? cfg.symmetry;
  const symmetry = useSymmetry ? TaskSymmetry.for(template) : null;
  const vcpuSymmetry = useSymmetry && opts.vcpuSymmetry === true ? VcpuSymmetry.for(template) : null;
  const steps = layout.steps;
  const fresh = (): X86State => ({
    world: new X86World(layout),
    cache: new Int32Array(words),
    cacheValid: false,
  });
  const dummyDelta = checks.has('no-dummy-leak');
  // Partial-order reduction's ample sets assume a guest access is local unless its page is in flux; host
  // memory operations break that, so worlds with the notifier model explore every interleaving.
  // The map actor's steps touch pages no ample-set rule knows about either.
  // A variant's properties read any state, and its kernel functions and guest handler order change what
  // the steps do: the reduction's independence argument (docs/properties.md) covers neither. A variant
  // that only changes the era's switches is covered, as the built-in switches are.
  const variantProps = layout.variants.properties.length > 0;
  const variantCode = layout.variants.kfn !== null || layout.variants.guest.length > 0;
  const por =
    (opts.por ?? true) && cfg.mmu === undefined && cfg.maps === undefined && !variantProps && !variantCode;
  const changePteClaim = checks.has('change-pte-useless') && layout.era.mmu.changePte !== 'unbracketed';
  // a955cad84cda (5.16) is what makes this hold; earlier eras make no such claim.
  const rootClaim = checks.has('no-obsolete-root-install') && layout.era.mmu.obsoleteRoot;
  const workStep = (v: number): number => layout.stepIndex.get(stepKey('work', v, 0))!;

  const model: X86Model = {
    name: `x86 apf(${cfg.era}${cfg.bugs.length ? ` +${cfg.bugs.join(',')}` : ''}, ${cfg.guest.kind}, ${layout.vcpus} vCPU)`,
    stateWords: words,
    stepCount: steps.length,
    components: template.offsets.components,
    layout,
    checks,
    symmetry,
    vcpuSymmetry,
    por,
    initial: fresh,
    copy(from, to) {
      if (!from.cacheValid) {
        from.world.encode(from.cache);
        from.cacheValid = true;
      }
      to.world.decode(from.cache, 0);
      to.cacheValid = false; // `to` is about to be changed by a step
    },
    encode(s, out) {
      s.world.encode(out);
      // The words this world is now (restore's starting point), before canonicalization.
      const c = s.cache;
      if (out.length === words) c.set(out);
      else for (let i = 0; i < words; i++) c[i] = out[i]!;
      s.cacheValid = true;
      if (symmetry !== null) symmetry.canonicalize(s.world, out);
      if (vcpuSymmetry !== null) vcpuSymmetry.canonicalize(out);
    },
    encodeRaw(s, out) {
      s.world.encode(out);
    },
    decode(w, offset, into) {
      into.world.decode(w, offset);
      const c = into.cache;
      for (let i = 0; i < words; i++) c[i] = w[offset + i]!;
      into.cacheValid = true;
    },
    restore(s, w, offset) {
      if (s.cacheValid) s.world.restore(w, offset, s.cache);
      else model.decode(w, offset, s);
    },
    enabled(s, out) {
      if (por) {
        const a = ampleStep(s.world, (v) => stepEnabled(s.world, steps[v]!));
        if (a !== AMPLE_NONE) {
          // Run steps have ids 0 .. V-1; the worker of v's first pending work has id workStep(v).
          out[0] = a < layout.vcpus ? a : workStep(a - layout.vcpus);
          return 1;
        }
      }
      let n = 0;
      const pending = pendingCounts(s.world);
      for (let i = 0; i < steps.length; i++) {
        const st = steps[i]!;
        if (st.kind === 'work' ? st.k < pending[st.v]! : stepEnabled(s.world, st)) out[n++] = i;
      }
      return n;
    },
    apply(s, step) {
      const w = s.world;
      s.cacheValid = false;
      w.obs.begin();
      const leaked = dummyDelta ? w.guest.leakedDummies() : 0;
      const found = w.vm.mmu.stat.change_pte_found_spte;
      const intoObsolete = w.vm.mmu.stat.obsolete_root_installs;
      applyStep(w, steps[step]!);
      const bad = w.obs.end();
      if (bad !== null) return bad;
      if (changePteClaim && w.vm.mmu.stat.change_pte_found_spte > found) return 'change-pte-useless';
      if (rootClaim && w.vm.mmu.stat.obsolete_root_installs > intoObsolete) return 'no-obsolete-root-install';
      if (dummyDelta && w.guest.leakedDummies() > leaked) return 'no-dummy-leak';
      return null;
    },
    invariant: variantProps
      ? (s) => invariantViolation(s.world, checks) ?? variantViolation(s.world)
      : (s) => invariantViolation(s.world, checks),
    endState: (s) => endViolation(s.world, checks),
    stepLabel: (step, before) => stepLabel(before.world, steps[step]!),
    describe: (s) => describeWorld(s.world),
  };
  return model;
}
