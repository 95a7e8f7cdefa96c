import { bfs } from './bfs.ts';
import { dfs } from './dfs.ts';
import type { Model } from './model.ts';
import type { SearchOptions, SearchResult } from './search_types.ts';

export type Strategy = 'bfs' | 'dfs';

/** Runs one search over `model`: breadth-first (default, shortest counterexamples) or depth-first. */
export function explore<S>(
  model: Model<S>,
  options: SearchOptions & { readonly strategy?: Strategy },
): SearchResult<S> {
  return options.strategy === 'dfs' ? dfs(model, options) : bfs(model, options);
}
