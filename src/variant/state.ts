// The state a variant adds (Variant.state): one record of numeric fields per vCPU, all 0 at creation,
// read and written by the variant's hooks through variantState(vcpu). It lives beside the vCPU, not in
// it, so the model's own state and its encodings are untouched when no variant adds any; the explorer
// encodes the declared fields with every state (src/explore/x86/world.ts) and refuses a field that was
// written without being declared.
import type { KvmVcpu } from '../host/x86/vcpu.ts';

// A variant's `import 'kvmsim'` is this very module (the loader hands it src/variant/kvmsim_api.ts of the
// running bundle), so one table serves the model and the variants.
const states = new WeakMap<KvmVcpu, Record<string, number>>();

/** The variant fields of `vcpu` (created empty: an absent field reads as undefined, so write it first or use `?? 0`). */
export function variantState(vcpu: KvmVcpu): Record<string, number> {
  let s = states.get(vcpu);
  if (s === undefined) {
    s = {};
    states.set(vcpu, s);
  }
  return s;
}
