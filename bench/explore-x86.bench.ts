// `npm run bench explore-x86`: the explorer on the real x86 model (issue 19): states per CPU second and
// bytes per stored state of the safety search (BFS) on the bug library (docs/bug-library.md: every bug
// switch's scenario, with the switch and without it, with and without the reductions) and on the larger
// examples, for this tree against a baseline tree in the same run.
//
// The baseline is the source tree of a commit (EXPLORE_BENCH_BASE, default: where this branch left main),
// extracted with `git archive` under node_modules/.cache (so it resolves this tree's dependencies). Each
// round starts one process per tree (one warm-up pass, then the timed pass), alternating which goes first;
// medians over the rounds. CPU time (process.cpuUsage) around each search, so load from other processes
// moves the figures less than wall time would.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { BUG_NAMES } from '../src/host/x86/bugs.ts';
import { median } from './stats.ts';

const ROUNDS = Number(process.env.EXPLORE_BENCH_ROUNDS ?? 3);
const root = join(import.meta.dirname, '..');
const LARGE = (process.env.EXPLORE_BENCH_LARGE ?? 'per-cpu-working-set,mmu-notifier-races,shared-pages')
  .split(',')
  .filter(Boolean);

interface Job {
  readonly file: string;
  readonly fixed: boolean;
  readonly reduce: boolean;
}
interface Run extends Job {
  readonly kind: string;
  readonly property: string | null;
  readonly states: number;
  readonly transitions: number;
  readonly bytes: number;
  readonly words: number;
  readonly buildS: number;
  readonly searchS: number;
}

/** The source tree of a commit, extracted once under node_modules/.cache (it resolves our dependencies). */
function treeAt(commit: string): string {
  const dir = join(root, 'node_modules', '.cache', 'kvmsim-explore-base', commit.slice(0, 12));
  if (!existsSync(join(dir, 'package.json'))) {
    mkdirSync(dir, { recursive: true });
    const tar = execFileSync('git', ['archive', commit, 'src', 'examples', 'package.json', 'tsconfig.json'], {
      cwd: root,
      maxBuffer: 1 << 30,
    });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
  }
  return dir;
}

function baseTree(): { dir: string; commit: string } {
  const spec = process.env.EXPLORE_BENCH_BASE ?? 'main';
  const commit = execFileSync('git', ['merge-base', 'HEAD', spec], { cwd: root, encoding: 'utf8' }).trim();
  return { dir: treeAt(commit), commit };
}

/** This tree: the working tree, or (EXPLORE_BENCH_THIS=commit) that commit's, so edits cannot leak in. */
function thisTree(): string {
  const spec = process.env.EXPLORE_BENCH_THIS;
  if (spec === undefined) return root;
  return treeAt(execFileSync('git', ['rev-parse', spec], { cwd: root, encoding: 'utf8' }).trim());
}

function work(tree: string, jobs: readonly Job[], collapse: boolean, extra: string[] = []): Run[] {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(root, 'bench', 'explore-x86-worker.ts'),
      tree,
      JSON.stringify(jobs),
      collapse ? 'collapse' : '-',
      ...extra,
    ],
    { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 },
  );
  if (r.status !== 0) throw new Error(`explore-x86 worker failed:\n${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Run);
}

const key = (j: Job): string => `${j.file}|${j.fixed}|${j.reduce}`;
const int = (x: number): string => Math.round(x).toLocaleString('en-US');
const ratio = (x: number): string => `${x.toFixed(2)}×`;

export default async function (): Promise<string> {
  const load0 = loadavg()[0]!;
  const base = baseTree();
  const lib = readdirSync(join(root, 'examples', 'explore'))
    .map((f) => f.replace(/\.yaml$/, ''))
    .filter((n) => (BUG_NAMES as readonly string[]).includes(n))
    .sort();
  const jobs: Job[] = [];
  for (const n of lib)
    for (const fixed of [false, true])
      for (const reduce of [false, true]) jobs.push({ file: `examples/explore/${n}.yaml`, fixed, reduce });
  for (const n of LARGE)
    for (const reduce of [false, true])
      jobs.push({ file: `examples/explore/${n}.yaml`, fixed: false, reduce });

  const modes = [
    { name: 'base', tree: base.dir, collapse: false },
    { name: 'this', tree: thisTree(), collapse: false },
    { name: 'collapse', tree: thisTree(), collapse: true },
  ] as const;
  type Mode = (typeof modes)[number]['name'];
  const runs = new Map<Mode, Run[][]>(modes.map((m) => [m.name, []]));
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? modes : [...modes].reverse();
    for (const m of order) runs.get(m.name)!.push(work(m.tree, jobs, m.collapse));
  }
  // State counts with the vCPU symmetry as well (deterministic: one untimed pass).
  const vcpu = work(
    thisTree(),
    jobs.filter((j) => j.reduce),
    false,
    ['0', 'vcpu'],
  );
  const load1 = loadavg()[0]!;

  // Same verdicts and state counts in every mode and round.
  const ref = new Map(runs.get('base')![0]!.map((x) => [key(x), x]));
  for (const [mode, rounds] of runs)
    for (const rs of rounds)
      for (const x of rs) {
        const b = ref.get(key(x))!;
        if (x.kind !== b.kind || x.property !== b.property || x.states !== b.states)
          throw new Error(
            `${mode}: ${key(x)}: ${x.kind} ${x.property} ${x.states} (baseline ${b.kind} ${b.property} ${b.states})`,
          );
      }
  for (const x of vcpu) {
    const b = ref.get(key(x))!;
    if (x.kind !== b.kind || x.property !== b.property)
      throw new Error(
        `vCPU symmetry: ${key(x)}: ${x.kind} ${x.property} (without it ${b.kind} ${b.property})`,
      );
  }
  /** Median over rounds of a per-round figure. */
  const med = (mode: Mode, f: (rs: Run[]) => number): number => median(runs.get(mode)!.map(f));
  const pick = (rs: Run[], j: Job): Run => rs.find((x) => key(x) === key(j))!;
  const sum = (rs: Run[], f: (x: Run) => number): number => rs.reduce((a, x) => a + f(x), 0);
  const isLib = (x: Job): boolean => !LARGE.some((n) => x.file.endsWith(`/${n}.yaml`));
  const libRate = (rs: Run[]): number => {
    const l = rs.filter(isLib);
    return sum(l, (x) => x.states) / sum(l, (x) => x.searchS);
  };
  const libBytes = (rs: Run[]): number => {
    const l = rs.filter(isLib);
    return sum(l, (x) => x.bytes) / sum(l, (x) => x.states);
  };
  const libStates = sum(runs.get('base')![0]!.filter(isLib), (x) => x.states);

  const L: string[] = [];
  L.push('## explore-x86: the explorer on the real x86 model (issue 19)');
  L.push('');
  L.push(
    `Safety search (BFS) of \`x86ExploreModel\`, states per CPU second (\`process.cpuUsage()\` around the search; building the model is not counted) and bytes per stored state (the engine's \`bytesPerState\`: typed arrays at capacity over states; every search starts at a capacity of 16 states instead of the default 1,024, so the figure is what a state costs, with at most 2× growth slack). Baseline: the tree of ${base.commit.slice(0, 12)} (where this branch left main, extracted with \`git archive\`), in the same run. ${ROUNDS} interleaved rounds, one process per tree and round (an untimed warm-up over the first 24 library searches, then the timed pass), medians. "collapse": this tree with the collapse-compressed visited set (\`collapse: true\`, opt-in). Verdicts, properties and state counts are checked identical across trees and modes.`,
  );
  L.push('');
  L.push(
    `Bug library: ${lib.length} scenarios × (with the switch, without) × (no reductions, reductions) = ${jobs.filter(isLib).length} searches, ${int(libStates)} states in all.`,
  );
  L.push('');
  L.push('| tree | library states / CPU s | ratio | library B/state (Σ bytes / Σ states) |');
  L.push('|---|---|---|---|');
  const b0 = med('base', libRate);
  for (const m of modes)
    L.push(
      `| ${m.name} | ${int(med(m.name, libRate))} | ${ratio(med(m.name, libRate) / b0)} | ${int(med(m.name, libBytes))} |`,
    );
  L.push('');
  L.push('Larger examples (no reductions / reductions):');
  L.push('');
  L.push(
    '| scenario | states | words | base states/s | this | collapse | ratio (this, collapse) | B/state base → this → collapse |',
  );
  L.push('|---|---|---|---|---|---|---|---|');
  for (const j of jobs.filter((x) => !isLib(x))) {
    const b = pick(runs.get('base')![0]!, j);
    const rate = (m: Mode): number => med(m, (rs) => pick(rs, j).states / pick(rs, j).searchS);
    const bytes = (m: Mode): number => med(m, (rs) => pick(rs, j).bytes / pick(rs, j).states);
    L.push(
      `| ${j.file.split('/').pop()}${j.reduce ? ' (reduced)' : ''} | ${int(b.states)} | ${b.words} | ${int(rate('base'))} | ${int(rate('this'))} | ${int(rate('collapse'))} | ${ratio(rate('this') / rate('base'))}, ${ratio(rate('collapse') / rate('base'))} | ${int(bytes('base'))} → ${int(bytes('this'))} → ${int(bytes('collapse'))} |`,
    );
  }
  L.push('');
  L.push(
    'Reductions (this tree; POR + task symmetry against none, then with the opt-in vCPU symmetry too; states of the safety search):',
  );
  L.push('');
  L.push(
    '| scenario | with the switch: full → reduced | without: full → reduced | factor (without) | + vCPU symmetry (without) | factor |',
  );
  L.push('|---|---|---|---|---|---|');
  const r0 = runs.get('this')![0]!;
  const names = [...lib, ...LARGE];
  for (const n of names) {
    const f = `examples/explore/${n}.yaml`;
    const get = (fixed: boolean, reduce: boolean) =>
      r0.find((x) => x.file === f && x.fixed === fixed && x.reduce === reduce);
    const sw = LARGE.includes(n) ? null : [get(false, false)!, get(false, true)!];
    const ok = LARGE.includes(n)
      ? [get(false, false)!, get(false, true)!]
      : [get(true, false)!, get(true, true)!];
    const vs = vcpu.find((x) => key(x) === key(ok[1]!))!;
    L.push(
      `| ${n} | ${sw ? `${int(sw[0]!.states)} → ${int(sw[1]!.states)}` : '–'} | ${int(ok[0]!.states)} → ${int(ok[1]!.states)} | ${ratio(ok[0]!.states / ok[1]!.states)} | ${int(vs.states)} | ${ratio(ok[0]!.states / vs.states)} |`,
    );
  }
  L.push('');
  L.push(
    `Environment: Node ${process.version}, ${cpus()[0]?.model.trim() ?? '?'} × ${cpus().length}; 1-minute load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end.`,
  );
  L.push('');
  L.push(
    'Command: `npm run bench explore-x86` (rounds: `EXPLORE_BENCH_ROUNDS`, default 3; baseline: `EXPLORE_BENCH_BASE`, default `main`; `EXPLORE_BENCH_THIS=<commit>` measures a commit instead of the working tree)',
  );
  return L.join('\n');
}
