// The variants API (docs/variants.md): a user's module that changes named kernel behaviours of the model,
// written once and honoured by every tool (script, explore, run, compare, sweep). The built-in bug switches
// are written on the same hooks: src/host/x86/bug_variants.ts (the host's), src/guest/x86/guest_behaviour.ts
// (the guest's `ack-before-clear`).
//
//   import { defineVariant } from 'kvmsim';
//   export default defineVariant({
//     name: 'ack-less',
//     guest: (g) => ({ ...g, pageReadyHandler: g.pageReadyHandler.filter((op) => op !== 'ack') }),
//   });
import type { GuestBehaviour } from '../guest/x86/guest_behaviour.ts';
import type { EraConfig } from '../host/x86/era.ts';
import type { X86KernelFns } from '../host/x86/kernel_fns.ts';

/** The host behaviour a variant's `host` hook receives and returns: the era's switches (era.ts). */
export type HostBehaviour = EraConfig;

/** A replacement for a kernel function: receives the function it replaces (the model's, or the previous variant's). */
export type KernelHooks = {
  readonly [K in keyof X86KernelFns]?: (orig: X86KernelFns[K]) => X86KernelFns[K];
};

/**
 * A property the explorer checks on every state, beside its own (docs/properties.md): return null when
 * it holds, else one line saying what is wrong. `view` is read-only: the VM (vCPUs, their registers and
 * APF state, guest memory, page states) and each vCPU's variant state.
 */
export interface VariantProperty {
  readonly name: string;
  readonly description?: string;
  readonly check: (view: VariantView) => string | null;
}

/** What a variant property sees of one explored state. */
export interface VariantView {
  readonly vm: import('../host/x86/vm.ts').KvmVm;
  /** The variant's per-vCPU state (`state.vcpu`), by vCPU index then field name. */
  readonly vcpuState: readonly Readonly<Record<string, number>>[];
}

export interface Variant {
  /** Shown in outputs (compare columns, counterexamples); defaults to the file's name. */
  readonly name?: string;
  readonly description?: string;
  /** Change the host's switches: the same hook the built-in eras and bug switches are written with. */
  readonly host?: (b: HostBehaviour) => HostBehaviour;
  /** Replace or wrap kernel functions by name (src/host/x86/kernel_fns.ts lists them). */
  readonly kernel?: KernelHooks;
  /** Change the guest: the Linux guest's page-ready handler order. */
  readonly guest?: (g: GuestBehaviour) => GuestBehaviour;
  /**
   * State the variant adds: per vCPU, fields with their width in bits (1–31), all starting at 0. Hooks
   * read and write them through `variantState(vcpu)`; the explorer encodes them with every state.
   */
  readonly state?: { readonly vcpu?: Readonly<Record<string, number>> };
  /** Invariants the explorer checks (by default, with the built-in ones). */
  readonly properties?: readonly VariantProperty[];
}

/** Identity, for type inference in a variant module: `export default defineVariant({ … })`. */
export const defineVariant = (v: Variant): Variant => v;
