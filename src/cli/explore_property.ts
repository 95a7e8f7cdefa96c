// What the x86 explore outputs say about a scenario's variants and properties (the plain search and the
// swarm alike): the heading's variant names and the one-line summary of a violated property, built-in or
// a variant's (docs/variants.md). Loaded by the command's action only.
import type { ExploreWorldConfig } from '../explore/x86/config.ts';
import { type CheckedProperty, PROPERTIES } from '../explore/x86/properties.ts';
import { variantSet } from '../variant/variant_set.ts';

/** The scenario's variants by name. */
export const variantNames = (config: ExploreWorldConfig): string[] =>
  variantSet(config.variants).loaded.map((l) => l.name);

/** The heading of the text output: the scenario's name and, when it has any, its variants. */
export const exploreHeading = (name: string, variants: readonly string[]): string =>
  variants.length > 0 ? `${name} [variants: ${variants.join(', ')}]` : name;

/** The ids of the properties the scenario's variants add (`variant:<name>/<property>`). */
export const variantPropertyIds = (config: ExploreWorldConfig): string[] =>
  variantSet(config.variants).properties.map((p) => p.id);

/** One line saying what `property` claims. */
export function propertySummary(property: CheckedProperty, config: ExploreWorldConfig): string {
  if (!property.startsWith('variant:')) return PROPERTIES[property as keyof typeof PROPERTIES].summary;
  const p = variantSet(config.variants).properties.find((x) => x.id === property);
  return p?.property.description ?? "a variant's property";
}
