// `npm run bench startup`: the whole-process cost of starting kvmsim (issue 13), against `node -e 0` in the
// same run. Targets: `kvmsim --help` at most 150 ms wall, and a small command (`kvmsim script
// examples/apf-basic.yaml`) at most 2.5 times the CPU time of `node -e 0`.
//
// Method. The commands run in interleaved rounds (every command once per round, in turn), so a change in
// the machine's load hits them alike; each figure is the median over the rounds. In a round a command runs
// REPEAT times in a row inside one `bash -c 'for …; do CMD; done; times'`: bash's `times` prints the user
// and system CPU time of its waited-for children (getrusage(RUSAGE_CHILDREN): the whole process, start to
// exit, as the kernel accounted it, with millisecond resolution), and the wall time is measured around the
// spawn. Both are divided by REPEAT. The command runs dist/ (built first when it is stale): one bundle per
// command compiled with its V8 code cache (bin/kvmsim.js, scripts/build.mjs). Two reference rows: the
// same script compiled without the cache (KVMSIM_CODE_CACHE=0), and --help from the sources through tsx
// (KVMSIM_FROM_SOURCE=1, the start-up before the build existed). This is a development checkout, so every
// kvmsim row includes bin/kvmsim.js's check that dist/ is not older than src/ (a stat of each source file),
// which an installed package skips.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { median } from './stats.ts';

const root = join(import.meta.dirname, '..');
const ROUNDS = Number(process.env.STARTUP_BENCH_ROUNDS ?? 10);
const REPEAT = Number(process.env.STARTUP_BENCH_REPEAT ?? 5);
const HELP_WALL_TARGET_MS = 150;
const SCRIPT_CPU_TARGET = 2.5;

interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Record<string, string>;
  /** Runs per round (the slow reference row runs once). */
  readonly repeat: number;
}

const kvmsim = ['node', 'bin/kvmsim.js'];
const CASES: readonly Case[] = [
  { name: 'node -e 0', argv: ['node', '-e', '0'], repeat: REPEAT },
  { name: 'kvmsim --help', argv: [...kvmsim, '--help'], repeat: REPEAT },
  { name: 'kvmsim --version', argv: [...kvmsim, '--version'], repeat: REPEAT },
  {
    name: 'kvmsim script examples/apf-basic.yaml',
    argv: [...kvmsim, 'script', 'examples/apf-basic.yaml'],
    repeat: REPEAT,
  },
  {
    name: 'kvmsim script examples/apf-basic.yaml, no code cache (reference)',
    argv: [...kvmsim, 'script', 'examples/apf-basic.yaml'],
    env: { KVMSIM_CODE_CACHE: '0' },
    repeat: REPEAT,
  },
  {
    name: 'kvmsim --help, sources through tsx (reference)',
    argv: [...kvmsim, '--help'],
    env: { KVMSIM_FROM_SOURCE: '1' },
    repeat: 1,
  },
];

interface Sample {
  readonly wallMs: number;
  readonly cpuMs: number;
}

const seconds = (s: string): number => {
  const m = /^(\d+)m([\d.]+)s$/.exec(s);
  if (!m) throw new Error(`bench startup: cannot read bash's times output ${JSON.stringify(s)}`);
  return Number(m[1]) * 60 + Number(m[2]);
};

function measure(c: Case): Sample {
  const script = `for ((i = 0; i < ${c.repeat}; i++)); do "$@" >/dev/null || exit 99; done; times`;
  const t0 = performance.now();
  const r = spawnSync('bash', ['-c', script, 'bash', ...c.argv], {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, ...c.env },
  });
  const wall = performance.now() - t0;
  if (r.status !== 0) throw new Error(`bench startup: ${c.name} failed (exit ${r.status}): ${r.stderr}`);
  // `times`: the shell's own user/system, then its children's.
  const children = r.stdout.trim().split('\n').at(-1)!.trim().split(/\s+/);
  const cpu = (seconds(children[0]!) + seconds(children[1]!)) * 1000;
  return { wallMs: wall / c.repeat, cpuMs: cpu / c.repeat };
}

function distIsCurrent(): boolean {
  const stamp = join(root, 'dist', 'build-stamp');
  if (!existsSync(stamp)) return false;
  const built = statSync(stamp).mtimeMs;
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
  return newest(join(root, 'src')) <= built && statSync(join(root, 'package.json')).mtimeMs <= built;
}

export default async function startup(): Promise<string> {
  if (!distIsCurrent()) {
    console.error('bench startup: dist/ is stale or missing; building it (node scripts/build.mjs)');
    const b = spawnSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit' });
    if (b.status !== 0) throw new Error('bench startup: the build failed');
  }
  const load0 = loadavg()[0]!;
  const samples = CASES.map(() => [] as Sample[]);
  for (let round = 0; round < ROUNDS; round++)
    CASES.forEach((c, i) => {
      samples[i]!.push(measure(c));
    });
  const load1 = loadavg()[0]!;
  const med = samples.map((s) => ({
    wall: median(s.map((x) => x.wallMs)),
    cpu: median(s.map((x) => x.cpuMs)),
  }));
  const base = med[0]!;
  const rows = CASES.map((c, i) => {
    const m = med[i]!;
    let target = '';
    if (c.name === 'kvmsim --help')
      target = `wall ≤ ${HELP_WALL_TARGET_MS} ms: ${m.wall <= HELP_WALL_TARGET_MS ? 'met' : `**not met** (+${Math.round(m.wall - HELP_WALL_TARGET_MS)} ms)`}`;
    if (c.name === 'kvmsim script examples/apf-basic.yaml')
      target = `CPU ≤ ${SCRIPT_CPU_TARGET}× node: ${m.cpu <= SCRIPT_CPU_TARGET * base.cpu ? 'met' : '**not met**'}`;
    return `| ${c.name} | ${m.wall.toFixed(0)} | ${(m.wall / base.wall).toFixed(2)}× | ${m.cpu.toFixed(0)} | ${(m.cpu / base.cpu).toFixed(2)}× | ${target} |`;
  });
  return [
    '## Start-up (whole process)',
    '',
    `\`npm run bench startup\` (bench/startup.bench.ts): ${ROUNDS} interleaved rounds, each command ${REPEAT} times in a row per round (the tsx reference once); medians over the rounds. CPU is user + system time of the finished child processes from bash's \`times\` (getrusage of the waited-for children); wall is measured around the spawn. kvmsim runs dist/ (scripts/build.mjs: one bundle per command with its V8 code cache), from this development checkout (bin/kvmsim.js first checks that dist/ is not older than src/). Node ${process.version}, ${cpus().length} CPUs, load average ${load0.toFixed(1)} at the start, ${load1.toFixed(1)} at the end (other jobs share the machine; wall times are the figures the load moves most).`,
    '',
    '| command | wall (ms) | wall / node | CPU (ms) | CPU / node | target |',
    '|---|---:|---:|---:|---:|---|',
    ...rows,
  ].join('\n');
}
