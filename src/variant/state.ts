// The state a variant adds (Variant.state): one record of numeric fields per vCPU, all 0 at creation,
// read and written by the variant's hooks through variantState(vcpu). It lives beside the vCPU, not in
// it, so the model's own state and its encodings are untouched when no variant adds any; the explorer
// encodes the declared fields with every state (src/explore/x86/world.ts) and refuses a field that was
// written without being declared.
import type { KvmVcpu } from '../host/x86/vcpu.ts';

// One table per process, whichever copy of this module a variant's `import 'kvmsim'` reaches (a bundle
// per command has its own copy of each module): keyed by a registered symbol.
const KEY = Symbol.for('kvmsim.variantState');
const g = globalThis as { [KEY]?: WeakMap<KvmVcpu, Record<string, number>> };
g[KEY] ??= new WeakMap<KvmVcpu, Record<string, number>>();
const states = g[KEY];

/** The variant fields of `vcpu` (created empty: an absent field reads as undefined, so write it first or use `?? 0`). */
export function variantState(vcpu: KvmVcpu): Record<string, number> {
  let s = states.get(vcpu);
  if (s === undefined) {
    s = {};
    states.set(vcpu, s);
  }
  return s;
}
