// What the schedulers read of a scenario's variants: the host and guest changes and the kernel function
// table, composed once per list of variant files. The files must have been loaded (load.ts) first; the
// CLI loads a scenario's variants right after parsing it, each pool thread before its first run.
import type { GuestVariant } from '../guest/x86/guest_behaviour.ts';
import type { HostVariant } from '../host/x86/bug_variants.ts';
import type { X86KernelFns } from '../host/x86/kernel_fns.ts';
import {
  composeKernelFns,
  guestVariants,
  hostVariants,
  type LoadedVariant,
  variantProperties,
} from './compose.ts';
import { variantKey, variantsAt } from './load.ts';
import { VariantError } from './variant_error.ts';

export interface VariantSet {
  readonly loaded: readonly LoadedVariant[];
  /** For hostBehaviour: the host changes and the kernel function table. */
  readonly host: readonly HostVariant[];
  readonly kfn: X86KernelFns | null;
  /** For the Linux guest's configuration (`variants`). */
  readonly guest: readonly GuestVariant[];
  readonly properties: ReturnType<typeof variantProperties>;
  /** Per-vCPU state fields the variants add, in encoding order, with the file that declares each. */
  readonly vcpuState: readonly { readonly file: string; readonly field: string; readonly bits: number }[];
}

export const NO_VARIANTS: VariantSet = {
  loaded: [],
  host: [],
  kfn: null,
  guest: [],
  properties: [],
  vcpuState: [],
};

const sets = new Map<string, VariantSet>();

/** The composed set of the variant files `files` (paths relative to the working directory, or absolute). */
export function variantSet(files: readonly string[] | undefined): VariantSet {
  if (files === undefined || files.length === 0) return NO_VARIANTS;
  const keys = files.map((f) => variantKey(f, process.cwd()));
  const id = keys.join('\0');
  let s = sets.get(id);
  if (s === undefined) {
    const loaded = variantsAt(keys);
    s = {
      loaded,
      host: hostVariants(loaded),
      kfn: composeKernelFns(loaded),
      guest: guestVariants(loaded),
      properties: variantProperties(loaded),
      vcpuState: vcpuFields(loaded),
    };
    sets.set(id, s);
  }
  return s;
}

/** The variants' per-vCPU fields in order; two variants may not declare the same one (they share a record). */
function vcpuFields(loaded: readonly LoadedVariant[]): VariantSet['vcpuState'] {
  const out: { file: string; field: string; bits: number }[] = [];
  for (const l of loaded)
    for (const [field, bits] of Object.entries(l.variant.state?.vcpu ?? {})) {
      const twin = out.find((f) => f.field === field);
      if (twin !== undefined)
        throw new VariantError(
          l.file,
          `state.vcpu.${field}`,
          `${twin.file} declares it too: each field is one variant's`,
        );
      out.push({ file: l.file, field, bits });
    }
  return out;
}
