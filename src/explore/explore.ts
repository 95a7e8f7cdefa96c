import { bfs } from './bfs.ts';
import { type BitstateStats, bitstateDfs } from './bitstate.ts';
import { dfs } from './dfs.ts';
import type { Model } from './model.ts';
import type { SearchOptions, SearchResult } from './search_types.ts';

export type Strategy = 'bfs' | 'dfs' | 'bitstate';

/**
 * Runs one search over `model`: breadth-first (default, shortest counterexamples), depth-first, or a
 * bitstate depth-first search (2^`bitstateBits` bits, `bitstateHashes` per state: states are not stored,
 * so an 'ok' is as complete as its coverage figures say; bitstate.ts).
 */
export function explore<S>(
  model: Model<S>,
  options: SearchOptions & {
    readonly strategy?: Strategy;
    readonly bitstateBits?: number;
    readonly bitstateHashes?: number;
  },
): SearchResult<S> & { readonly bitstate?: BitstateStats } {
  if (options.strategy === 'bitstate')
    return bitstateDfs(model, {
      ...options,
      bits: options.bitstateBits ?? 28,
      hashes: options.bitstateHashes,
    });
  return options.strategy === 'dfs' ? dfs(model, options) : bfs(model, options);
}
