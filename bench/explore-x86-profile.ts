// A driver for profiling the explorer on the real x86 model (issue 19): the safety search (BFS) of each
// scenario given, with and without its bug switches and the reductions, printing states, transitions and
// states per CPU second. Run it under the profiler, from the repository root:
//
//   node --cpu-prof --cpu-prof-dir=prof --import tsx bench/explore-x86-profile.ts examples/explore/shared-pages.yaml
//
// (tsx's loader thread writes a second profile; the search is in the main thread's, `*.0.001.cpuprofile`.)
// REPS=n repeats every search n times (JIT warm-up) and prints the last repetition.
import { bfs } from '../src/explore/bfs.ts';
import { x86ExploreModel } from '../src/explore/x86/model.ts';
import { loadExplore, parseExplore } from '../src/explore/x86/scenario.ts';

const files = process.argv.slice(2);
const reps = Number(process.env.REPS ?? 1);
for (let r = 0; r < reps; r++)
  for (const f of files)
    for (const fixed of [false, true])
      for (const reduce of [false, true]) {
        const loaded = loadExplore(f);
        const cfg = fixed ? parseExplore({ ...(loaded.raw as object), bugs: [] }, f).config : loaded.config;
        const model = x86ExploreModel(cfg, { symmetry: reduce, por: reduce });
        const c = process.cpuUsage();
        const res = bfs(model, { maxStates: 5_000_000, initialCapacity: 16, traceStates: 'last' });
        const u = process.cpuUsage(c);
        const s = (u.user + u.system) / 1e6;
        if (r === reps - 1)
          console.log(
            `${f.split('/').pop()} ${fixed ? 'without the switches' : 'as given'}${reduce ? ', reduced' : ''}: ${res.kind}, ${res.stats.states} states, ${res.stats.transitions} transitions, ${Math.round(res.stats.states / s)} states/CPU s`,
          );
      }
