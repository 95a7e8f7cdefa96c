// The file `kvmsim explore --save` writes and `kvmsim replay` reads, for every arch: the scenario as read (so
// the file replays without it) and the counterexample as step ids with their labels. The arch is the
// embedded scenario's own `arch:` field (absent: x86). See docs/explorer.md, "Saved counterexamples".

export const SAVED_FORMAT = 'kvmsim-explore-counterexample';
export const SAVED_VERSION = 1;

export interface SavedStep {
  readonly id: number;
  readonly label: string;
}

/** The envelope both arches write; `property` and `kind` take the arch's own names. */
export interface SavedCounterexampleEnvelope {
  readonly format: typeof SAVED_FORMAT;
  readonly version: typeof SAVED_VERSION;
  /** The scenario file's content as read (integers as decimal strings where they exceed 2^53). */
  readonly scenario: unknown;
  readonly property: string;
  readonly kind: string;
  readonly detail?: string;
  readonly steps: readonly SavedStep[];
  /** Liveness: the steps of the loop that repeats after `steps` (empty otherwise). */
  readonly loop: readonly SavedStep[];
}

/** JSON-safe copy of parsed YAML (bigints become numbers, or hex strings beyond 2^53). */
export function jsonSafeScenario(v: unknown): unknown {
  if (typeof v === 'bigint') return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : `0x${v.toString(16)}`;
  if (Array.isArray(v)) return v.map(jsonSafeScenario);
  if (v !== null && typeof v === 'object')
    return Object.fromEntries(
      Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, jsonSafeScenario(x)]),
    );
  return v;
}
