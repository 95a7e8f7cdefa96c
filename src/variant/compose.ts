// Turns loaded variants into what the model reads: the host changes (applied by hostBehaviour after the
// bug switches), the guest changes, and one table of kernel functions (kernel_fns.ts) in which each
// variant's replacement wraps the model's body or the previous variant's replacement. Every call into a
// variant is guarded: what it throws becomes a VariantError naming the file and the hook.
import type { GuestBehaviour, GuestVariant } from '../guest/x86/guest_behaviour.ts';
import { pageReadyHandlerError } from '../guest/x86/guest_behaviour.ts';
import {
  alloc_apf_token_model,
  apf_pageready_slot_free_model,
  kvm_arch_async_page_not_present_model,
  kvm_arch_async_page_present_model,
  kvm_arch_async_page_present_queued_model,
  kvm_arch_async_page_ready_model,
  kvm_arch_can_dequeue_async_page_present_model,
  kvm_can_deliver_async_pf_model,
  kvm_can_do_async_pf_model,
} from '../host/x86/apf.ts';
import { kvm_check_async_pf_completion_model } from '../host/x86/async_pf.ts';
import type { HostVariant } from '../host/x86/bug_variants.ts';
import type { EraConfig } from '../host/x86/era.ts';
import { noteVariant, variantNotes, X86_KERNEL_FN_NAMES, type X86KernelFns } from '../host/x86/kernel_fns.ts';
import { kvm_unmap_gfn_range_model } from '../host/x86/mmu_notifier.ts';
import { kvm_pv_enable_async_pf_model } from '../host/x86/msr.ts';
import { nearest } from '../scenario/load.ts';
import type { Variant, VariantProperty } from './api.ts';
import { thrownText, VariantError } from './variant_error.ts';

/** A variant module as loaded: where it came from and what it exports. */
export interface LoadedVariant {
  /** The path as the user gave it (relative to the scenario file or the working directory). */
  readonly file: string;
  /** The name shown in outputs: the variant's `name`, else the file's base name. */
  readonly name: string;
  readonly variant: Variant;
}

/** The model's own kernel functions: what the first variant's `orig` is. */
export const MODEL_KERNEL_FNS: X86KernelFns = {
  kvm_can_deliver_async_pf: kvm_can_deliver_async_pf_model,
  kvm_can_do_async_pf: kvm_can_do_async_pf_model,
  apf_pageready_slot_free: apf_pageready_slot_free_model,
  kvm_arch_can_dequeue_async_page_present: kvm_arch_can_dequeue_async_page_present_model,
  alloc_apf_token: alloc_apf_token_model,
  kvm_arch_async_page_not_present: kvm_arch_async_page_not_present_model,
  kvm_arch_async_page_ready: kvm_arch_async_page_ready_model,
  kvm_arch_async_page_present: kvm_arch_async_page_present_model,
  kvm_arch_async_page_present_queued: kvm_arch_async_page_present_queued_model,
  kvm_check_async_pf_completion: kvm_check_async_pf_completion_model,
  kvm_pv_enable_async_pf: kvm_pv_enable_async_pf_model,
  kvm_unmap_gfn_range: kvm_unmap_gfn_range_model,
};

/** Runs `f` as the variant's code: what it throws is the variant's error (a VariantError passes through). */
function guarded<T>(l: LoadedVariant, hook: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof VariantError) throw e;
    throw new VariantError(l.file, hook, thrownText(e), e);
  }
}

/** A replacement function whose exceptions name its variant and hook. */
function guardFn<F extends (...args: never[]) => unknown>(l: LoadedVariant, hook: string, f: F): F {
  const note = `variant ${l.name}: ${hook}`;
  return ((...args: Parameters<F>) => {
    if (variantNotes.into !== null) noteVariant(note);
    try {
      return f(...args);
    } catch (e) {
      if (e instanceof VariantError) throw e;
      throw new VariantError(l.file, hook, thrownText(e), e);
    }
  }) as F;
}

/** The kernel function table of `variants`, or null when none replaces a kernel function. */
export function composeKernelFns(variants: readonly LoadedVariant[]): X86KernelFns | null {
  if (!variants.some((l) => l.variant.kernel !== undefined)) return null;
  const fns: Record<string, unknown> = { ...MODEL_KERNEL_FNS };
  for (const l of variants) {
    const k = l.variant.kernel;
    if (k === undefined) continue;
    for (const name of X86_KERNEL_FN_NAMES) {
      const wrap = k[name] as ((orig: unknown) => unknown) | undefined;
      if (wrap === undefined) continue;
      const hook = `kernel.${name}`;
      const f = guarded(l, hook, () => wrap(fns[name]));
      if (typeof f !== 'function')
        throw new VariantError(l.file, hook, `must return the replacement function, returned ${typeof f}`);
      fns[name] = guardFn(l, hook, f as (...a: never[]) => unknown);
    }
  }
  return fns as unknown as X86KernelFns;
}

/** The variants' `host` changes, guarded and checked: a change must keep every switch and its type. */
export function hostVariants(variants: readonly LoadedVariant[]): HostVariant[] {
  const out: HostVariant[] = [];
  for (const l of variants) {
    const change = l.variant.host;
    if (change === undefined) continue;
    out.push({
      name: l.name,
      host: (b: EraConfig) => {
        const r = guarded(l, 'host', () => change(b));
        checkSameShape(l, 'host', b, r);
        return r;
      },
    });
  }
  return out;
}

/** The variants' `guest` changes, guarded and checked. */
export function guestVariants(variants: readonly LoadedVariant[]): GuestVariant[] {
  const out: GuestVariant[] = [];
  for (const l of variants) {
    const change = l.variant.guest;
    if (change === undefined) continue;
    out.push({
      name: l.name,
      guest: (g: GuestBehaviour) => {
        const r = guarded(l, 'guest', () => change(g));
        checkSameShape(l, 'guest', g, r);
        const bad = pageReadyHandlerError(r.pageReadyHandler);
        if (bad !== null) throw new VariantError(l.file, 'guest', `pageReadyHandler: ${bad}`);
        return r;
      },
    });
  }
  return out;
}

/** The variants' properties, each named `variant:<name>/<property>`. */
export function variantProperties(
  variants: readonly LoadedVariant[],
): { readonly id: string; readonly from: LoadedVariant; readonly property: VariantProperty }[] {
  return variants.flatMap((l) =>
    (l.variant.properties ?? []).map((p) => ({ id: `variant:${l.name}/${p.name}`, from: l, property: p })),
  );
}

/**
 * What a `host` or `guest` change returned must be the same kind of object as what it received: no switch
 * lost (a change written `() => ({ x: 1 })` instead of `(b) => ({ ...b, x: 1 })`), none added, none of
 * another type. One level deep, and into `mmu`.
 */
function checkSameShape(l: LoadedVariant, hook: string, before: object, after: unknown, at = ''): void {
  if (typeof after !== 'object' || after === null || Array.isArray(after) !== Array.isArray(before))
    throw new VariantError(
      l.file,
      hook,
      `must return ${at === '' ? 'the changed behaviour' : at} (an object like the one it received), returned ${after === null ? 'null' : typeof after}`,
    );
  const b = before as Record<string, unknown>;
  const a = after as Record<string, unknown>;
  if (Array.isArray(before)) return;
  for (const k of Object.keys(a))
    if (!(k in b))
      throw new VariantError(l.file, hook, `unknown field ${at}${k} (${nearestKey(k, Object.keys(b))})`);
  for (const k of Object.keys(b)) {
    if (!(k in a))
      throw new VariantError(
        l.file,
        hook,
        `returned no ${at}${k}: start from the behaviour it receives ({ ...b, … })`,
      );
    const tb = b[k] === null ? 'null' : typeof b[k];
    const ta = a[k] === null ? 'null' : typeof a[k];
    // kfn is the composed table; a change may not set it (kernel functions go in `kernel`).
    if (k === 'kfn' && a[k] !== b[k])
      throw new VariantError(l.file, hook, 'kfn is not a switch: replace kernel functions in `kernel`');
    if (tb !== ta) throw new VariantError(l.file, hook, `${at}${k} must be ${tb}, got ${ta}`);
    if (k === 'mmu' && typeof b[k] === 'object' && b[k] !== null)
      checkSameShape(l, hook, b[k] as object, a[k], 'mmu.');
  }
}

function nearestKey(k: string, known: readonly string[]): string {
  const hit = nearest(k, known);
  return hit === null ? 'not a switch of this behaviour' : `did you mean ${hit}?`;
}
