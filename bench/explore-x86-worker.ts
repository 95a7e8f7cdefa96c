// One measuring process of `npm run bench explore-x86` (bench/explore-x86.bench.ts): runs the safety
// search (BFS, the engine's own, as `kvmsim explore` does) of every scenario of the list on the source
// tree given as the first argument (this tree, or a baseline copy), and prints one JSON line per run.
// CPU time (process.cpuUsage, user + system) is taken around the search alone; building the model is
// reported apart. Options the tree does not know (`collapse`, `traceStates`) are ignored by it, so one
// worker measures both trees. Like `kvmsim explore` (run.ts), a counterexample's trace keeps only its
// final state (traceStates: 'last'; the baseline tree builds a world for every state of it, as it did).
import { join } from 'node:path';

interface Job {
  readonly file: string;
  /** Run without the scenario's bug switches (the library's passing configuration). */
  readonly fixed: boolean;
  readonly reduce: boolean;
}

const root = process.argv[2]!;
const jobs = JSON.parse(process.argv[3]!) as Job[];
const collapse = process.argv[4] === 'collapse';
const warm = Number(process.argv[5] ?? 1);
/** With the reductions: also the vCPU symmetry (opt-in; trees without it ignore the option). */
const vcpuSymmetry = process.argv[6] === 'vcpu';

const { x86ExploreModel } = (await import(
  join(root, 'src/explore/x86/model.ts')
)) as typeof import('../src/explore/x86/model.ts');
const { bfs } = (await import(join(root, 'src/explore/bfs.ts'))) as typeof import('../src/explore/bfs.ts');
const { loadExplore, parseExplore } = (await import(
  join(root, 'src/explore/x86/scenario.ts')
)) as typeof import('../src/explore/x86/scenario.ts');

const cpu = (c: NodeJS.CpuUsage): number => (c.user + c.system) / 1e6;

function run(j: Job) {
  const path = join(root, j.file);
  const loaded = loadExplore(path);
  const cfg = j.fixed ? parseExplore({ ...(loaded.raw as object), bugs: [] }, path).config : loaded.config;
  const c0 = process.cpuUsage();
  const model = x86ExploreModel(cfg, {
    symmetry: j.reduce,
    por: j.reduce,
    ...(vcpuSymmetry ? { vcpuSymmetry } : {}),
  });
  const buildS = cpu(process.cpuUsage(c0));
  const c1 = process.cpuUsage();
  // Arrays start small, so bytes per state measure what a state costs (at most 2× growth slack), not the
  // default 1,024-state first allocation that dominates a search of a few dozen states.
  const r = bfs(model, {
    maxStates: 5_000_000,
    initialCapacity: 16,
    traceStates: 'last',
    ...(collapse ? { collapse: true } : {}),
  });
  const searchS = cpu(process.cpuUsage(c1));
  return {
    ...j,
    kind: r.kind,
    property: r.kind === 'violation' || r.kind === 'invalid-end' ? r.property : null,
    states: r.stats.states,
    transitions: r.stats.transitions,
    bytes: r.stats.bytes,
    words: model.stateWords,
    buildS,
    searchS,
  };
}

// Warm-up: the first bug-library searches (JIT), not the large examples (they would double the run).
for (let i = 0; i < warm; i++) for (const j of jobs.slice(0, 24)) run(j);
for (const j of jobs) console.log(JSON.stringify(run(j)));
