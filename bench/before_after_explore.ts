// bench/before_after.ts's explorer probe: one BFS of an x86 explore scenario with its own search settings,
// through the same entry points as `kvmsim explore`. Returns the states stored.
import { runExplore } from '../src/explore/x86/run.ts';
import { loadExplore } from '../src/explore/x86/scenario.ts';

export async function runExploreFile(file: string): Promise<number> {
  const { scenario, config } = loadExplore(file);
  const s = scenario.search;
  const out = runExplore(config, {
    strategy: 'bfs',
    maxStates: s.max_states,
    symmetry: s.symmetry,
    por: s.por,
  });
  return out.safety.states + (out.liveness?.states ?? 0);
}
