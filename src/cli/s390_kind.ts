// Whether a scenario file is an `arch: s390` one, and of which kind: the light half of s390_adapter.ts,
// which the commands import only when the file is an s390 one (src/cli/main.ts).
import { readScenarioFile } from '../scenario/load.ts';

export type S390Kind = 'script' | 'sim' | 'explore';

/** `script`/`sim`/`explore` when a parsed scenario says `arch: s390`, else null (not ours). */
export function s390Kind(raw: unknown): S390Kind | null {
  if (raw === null || typeof raw !== 'object' || (raw as { arch?: unknown }).arch !== 's390') return null;
  const kind = (raw as { kind?: unknown }).kind;
  return kind === 'script' || kind === 'sim' || kind === 'explore' ? kind : null;
}

/** Reads a scenario file and tells whether it is an s390 one (and of which kind). */
export function s390FileKind(file: string): S390Kind | null {
  return s390Kind(readScenarioFile(file));
}
