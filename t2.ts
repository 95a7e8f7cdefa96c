import { runExplore } from './src/explore/x86/run.ts';
import { loadExplore, parseExplore } from './src/explore/x86/scenario.ts';
for (const f of process.argv.slice(2)) {
  const { config, raw } = loadExplore(f);
  for (const bugs of [config.bugs, []]) {
    const cfg = parseExplore({ ...(raw as object), bugs }, f).config;
    for (const reduce of [true, false]) {
      const r = runExplore(cfg, { strategy: 'bfs', maxStates: 200_000, symmetry: reduce, por: reduce });
      console.log(f, bugs.join(','), reduce, r.verdict, r.counterexample?.property, r.safety?.states ?? (r as any).stats?.states);
    }
  }
}
