// The two fuzz properties of issue 12, shared by the CI-sized tests (test/fuzz/*.test.ts) and the long runs
// of `npm run fuzz` (scripts/fuzz.ts):
//
// - opSequence: a random script — era, bugs, VM shape (vCPUs, memory, irqchip, MMU, guest mode, MMU
//   notifiers), a bare guest's op sequence or a Linux guest's tasks — either is refused by the loader with a
//   UsageError, or runs to its end without an exception, and a second run gives the same transcript.
// - loaderMutation: an example's YAML, mutated (a line deleted, duplicated or cut, a value replaced by
//   something hostile, bytes inserted), is either loaded or refused with a UsageError (the one-line exit-2
//   contract); never another exception. Loaded scripts are also run.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadScriptWithFlags } from '../../src/cli/load_script_flags.ts';
import { s390Kind } from '../../src/cli/s390_adapter.ts';
import { parseS390Explore } from '../../src/explore/s390/scenario.ts';
import { parseExplore } from '../../src/explore/x86/scenario.ts';
import { BUG_NAMES } from '../../src/host/x86/bugs.ts';

const OPTION_SWITCHES: ReadonlySet<string> = new Set([
  'cache-min-too-small',
  'topup-under-mmu-lock',
  'unmap-poison-page-check',
  'apic-access-page-unmapped-clean',
  'refcount-nonrefcounted-page',
]);

import { ERA_NAMES } from '../../src/host/x86/era.ts';
import { readScenarioFile } from '../../src/scenario/load.ts';
import { checkSimResources } from '../../src/scenario/resources.ts';
import { UsageError } from '../../src/scenario/usage_error.ts';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import { parseS390Script, runS390Script } from '../../src/script/s390_runner.ts';
import { MSR_NAMES } from '../../src/script/schema.ts';
import { parseSimScenario } from '../../src/sim/load_sim.ts';
import { parseS390Sim } from '../../src/sim/s390/scenario.ts';

const hex = (n: bigint | number) => `0x${n.toString(16)}`;

/** 64-bit values a guest writes to an MSR: the interesting ones often, any value sometimes. */
const msrValue = (memory: number) =>
  fc.oneof(
    fc.constantFrom(0n, 1n, 0xf3n, 0xfee00900n, 0xffffffffffffffffn),
    // MSR_KVM_ASYNC_PF_EN: a 64-byte-aligned area inside (or just outside) guest RAM, with flag bits.
    fc
      .tuple(fc.integer({ min: 0, max: Math.floor((memory + 8192) / 64) }), fc.integer({ min: 0, max: 63 }))
      .map(([slot, flags]) => BigInt(slot * 64 + flags)),
    fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
  );

/** A guest address: page-aligned or 8-byte aligned inside RAM, now and then outside it (refused). */
const gpaIn = (memory: number) =>
  fc.oneof(
    {
      weight: 10,
      arbitrary: fc.integer({ min: 0, max: Math.floor(memory / 4096) - 1 }).map((p) => p * 4096),
    },
    { weight: 10, arbitrary: fc.integer({ min: 0, max: memory / 8 - 1 }).map((q) => q * 8) },
    { weight: 1, arbitrary: fc.constantFrom(memory, 0xfee00000, 2 ** 40) },
  );

const bareOp = (vcpus: number, memory: number, notifiers: boolean): fc.Arbitrary<Record<string, unknown>> => {
  const vcpu = fc.integer({ min: 0, max: vcpus - 1 });
  const msr = fc.constantFrom(...Object.keys(MSR_NAMES));
  const with_ = <T extends Record<string, unknown>>(a: fc.Arbitrary<T>) =>
    fc.tuple(a, vcpu).map(([o, v]) => (vcpus > 1 ? { ...o, vcpu: v } : o));
  const ops: fc.Arbitrary<Record<string, unknown>>[] = [
    with_(fc.record({ op: fc.constant('wrmsr'), msr, value: msrValue(memory).map(hex) })),
    with_(fc.record({ op: fc.constant('rdmsr'), msr })),
    with_(fc.record({ op: fc.constant('host_set_msr'), msr, value: msrValue(memory).map(hex) })),
    with_(fc.record({ op: fc.constant('host_get_msr'), msr })),
    with_(
      fc.constantFrom(1, 2, 4, 8).chain((size) =>
        fc.record({
          op: fc.constant('write_mem'),
          gpa: gpaIn(memory),
          size: fc.constant(size),
          value: fc.bigInt({ min: 0n, max: (1n << BigInt(8 * size)) - 1n }).map(hex),
        }),
      ),
    ),
    with_(fc.record({ op: fc.constant('read_mem'), gpa: gpaIn(memory), size: fc.constantFrom(1, 2, 4, 8) })),
    with_(fc.record({ op: fc.constant('apic_enable'), mode: fc.constantFrom('xapic', 'x2apic') })),
    with_(
      fc.constantFrom(
        { op: 'sti' },
        { op: 'cli' },
        { op: 'hlt' },
        { op: 'init' },
        { op: 'smi' },
        { op: 'rsm' },
      ),
    ),
    with_(fc.constantFrom({ op: 'enter_l2' }, { op: 'leave_l2' })),
    with_(
      fc.record(
        {
          op: fc.constant('touch'),
          gpa: gpaIn(memory),
          cpl: fc.constantFrom(0, 3),
          write: fc.boolean(),
          backing: fc.record({ delay: fc.constantFrom('0ns', '10us', '1ms', '50ms') }),
          retry: fc.boolean(),
        },
        { requiredKeys: ['op', 'gpa'] },
      ),
    ),
    with_(fc.record({ op: fc.constant('set_cr0_pg'), value: fc.boolean() })),
    with_(fc.record({ op: fc.constant('set_cr3'), value: gpaIn(memory) })),
    with_(fc.constant({ op: 'run' })),
  ];
  if (notifiers) ops.push(hostOp(memory));
  return fc.oneof(...ops);
};

const hostOp = (memory: number) =>
  fc.record({
    op: fc.constantFrom(
      'host_reclaim',
      'host_dontneed',
      'host_munmap',
      'host_ksm_merge',
      'host_cow',
      'host_numa_protnone',
      'host_migrate',
      'host_thp_split',
      'host_thp_collapse',
    ),
    gpa: fc.integer({ min: 0, max: Math.floor(memory / 4096) - 4 }).map((p) => p * 4096),
    pages: fc.integer({ min: 1, max: 4 }),
  });

const vmShape = fc.record({
  vcpus: fc.integer({ min: 1, max: 3 }),
  memory: fc.constantFrom(64 * 1024, 1024 * 1024, 4 * 1024 * 1024),
  irqchip: fc.boolean(),
  mmu: fc.constantFrom('tdp', 'shadow'),
  guest_mode: fc.constantFrom('long', 'long', 'real'),
  hlt_in_guest: fc.boolean(),
  mmu_notifiers: fc.boolean(),
});

const common = fc.record({
  era: fc.constantFrom(...ERA_NAMES),
  // The memory-cache and guest-mapping switches need their own VM options (`mmu_caches`, `maps`), which
  // these scripts do not set: they would only be refused. Their own tests cover them.
  bugs: fc.subarray(
    BUG_NAMES.filter((b) => !OPTION_SWITCHES.has(b)),
    { maxLength: 2 },
  ),
});

/** A bare-guest script: VM shape, era, bugs and 1..40 ops. */
const bareScript = fc
  .tuple(common, vmShape)
  .chain(([c, vm]) =>
    fc
      .array(bareOp(vm.vcpus, vm.memory, vm.mmu_notifiers), { minLength: 1, maxLength: 40 })
      .map((ops) => ({ kind: 'script', ...c, vm: { ...vm, memory: `${vm.memory}B` }, ops })),
  );

const step = (memory: number) =>
  fc.oneof(
    fc.record(
      {
        touch: fc.integer({ min: 64, max: Math.floor(memory / 4096) - 1 }).map((p) => p * 4096),
        write: fc.boolean(),
        backing: fc.record({ delay: fc.constantFrom('0ns', '100us', '10ms') }),
      },
      { requiredKeys: ['touch'] },
    ),
    fc.record({ compute: fc.constantFrom('1us', '100us', '1ms') }),
  );

/** A Linux-guest script: the guest kernel runs tasks; the script's ops are host-side and CPU hotplug. */
const linuxScript = fc
  .tuple(common, fc.integer({ min: 1, max: 3 }), fc.boolean())
  .chain(([c, vcpus, notifiers]) => {
    const memory = 4 * 1024 * 1024;
    const vcpu = fc.integer({ min: 0, max: vcpus - 1 });
    const ops = fc.oneof(
      fc.constant({ op: 'run' }),
      fc.record({ op: fc.constant('run'), for: fc.constantFrom('1ms', '20ms') }),
      fc.record({ op: fc.constant('cpu_offline'), vcpu, shutdown: fc.boolean() }),
      fc.record({ op: fc.constant('cpu_online'), vcpu }),
      ...(notifiers ? [hostOp(memory)] : []),
    );
    return fc
      .record({
        guest: fc.record({
          kind: fc.constantFrom('linux-4.19', 'linux-5.10', 'linux-6.x'),
          tasks: fc.array(fc.record({ program: fc.array(step(memory), { minLength: 1, maxLength: 6 }) }), {
            minLength: 1,
            maxLength: 4,
          }),
        }),
        ops: fc.array(ops, { minLength: 1, maxLength: 12 }),
      })
      .map((g) => ({
        kind: 'script',
        ...c,
        vm: { vcpus, memory: `${memory}B`, mmu_notifiers: notifiers },
        ...g,
      }));
  });

export const scriptArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  { weight: 3, arbitrary: bareScript },
  { weight: 1, arbitrary: linuxScript },
);

/** YAML's reading of a script: integers as bigints (the loader's `bigint` option). */
function asLoaded(raw: Record<string, unknown>): unknown {
  return JSON.parse(JSON.stringify(raw), (_k, v) =>
    typeof v === 'number' && Number.isInteger(v) ? BigInt(v) : v,
  );
}

/**
 * The op-sequence property on one script: loader refusal (UsageError) is allowed; otherwise two runs
 * without an exception and with equal transcripts. Returns 'refused' or 'ran'; throws on a failure.
 */
export function checkOpSequence(raw: Record<string, unknown>): 'refused' | 'ran' {
  let script: ReturnType<typeof parseScript>;
  try {
    script = parseScript(asLoaded(raw), 'fuzz.yaml');
  } catch (e) {
    if (e instanceof UsageError) return 'refused';
    throw e;
  }
  const a = runScript(script, { traceEvents: true });
  const b = runScript(parseScript(asLoaded(raw), 'fuzz.yaml'), { traceEvents: true });
  const ja = JSON.stringify(a.records, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  const jb = JSON.stringify(b.records, (_k, v) => (typeof v === 'bigint' ? v.toString() : v));
  if (ja !== jb) throw new Error('two runs of the same script gave different transcripts');
  return 'ran';
}

// ---------------------------------------------------------------------------------------------------------
// Loader mutations.

const HOSTILE = [
  '-1',
  '0',
  '1e400',
  '.nan',
  '.inf',
  '~',
  'null',
  '[]',
  '{}',
  '[1, 2]',
  '{ a: 1 }',
  '"x"',
  '!foo 1',
  '!!binary AAAA',
  '*undefined_alias',
  '0x1ffffffffffffffffff',
  '18446744073709551616',
  '4PiB',
  '1e-9',
  'true',
  `"${'x'.repeat(5000)}"`,
  '&a [*a]',
];

export interface Mutation {
  readonly example: number;
  readonly kind: 'delete' | 'duplicate' | 'truncate' | 'value' | 'bytes' | 'swap';
  readonly at: number;
  readonly pick: number;
}

export const mutationArb = (examples: number): fc.Arbitrary<Mutation[]> =>
  fc
    .array(
      fc.record({
        example: fc.constant(0),
        kind: fc.constantFrom('delete', 'duplicate', 'truncate', 'value', 'value', 'value', 'bytes', 'swap'),
        at: fc.nat(),
        pick: fc.nat(),
      }),
      { minLength: 1, maxLength: 3 },
    )
    .chain((ms) => fc.nat({ max: examples - 1 }).map((example) => ms.map((m) => ({ ...m, example }))));

/** Applies the mutations to an example's bytes. */
export function mutate(text: Buffer, ms: readonly Mutation[]): Buffer {
  let lines = text.toString('latin1').split('\n');
  let bytes: Buffer | null = null;
  for (const m of ms) {
    const i = m.at % Math.max(1, lines.length);
    switch (m.kind) {
      case 'delete':
        lines.splice(i, 1);
        break;
      case 'duplicate':
        lines.splice(i, 0, lines[i] ?? '');
        break;
      case 'truncate':
        lines = lines.slice(0, i).concat((lines[i] ?? '').slice(0, m.pick % 40));
        break;
      case 'swap': {
        const j = m.pick % Math.max(1, lines.length);
        [lines[i], lines[j]] = [lines[j] ?? '', lines[i] ?? ''];
        break;
      }
      case 'value': {
        // Replace the value after a `key:` (block or flow style) with something hostile.
        const line = lines[i] ?? '';
        const keys = [...line.matchAll(/(\w+):\s*([^,{}[\]\n]+)/g)];
        const h = HOSTILE[m.pick % HOSTILE.length]!;
        if (keys.length === 0) lines[i] = `${line} ${h}`;
        else {
          const k = keys[m.pick % keys.length]!;
          const start = k.index + k[0].length - k[2]!.length;
          lines[i] = line.slice(0, start) + h + line.slice(start + k[2]!.length);
        }
        break;
      }
      case 'bytes': {
        const b = Buffer.from(lines.join('\n'), 'latin1');
        const at = m.at % (b.length + 1);
        const ins = [0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80][m.pick % 6]!;
        bytes = Buffer.concat([b.subarray(0, at), Buffer.from([ins]), b.subarray(at)]);
        lines = bytes.toString('latin1').split('\n');
        break;
      }
    }
  }
  return bytes !== null && ms[ms.length - 1]!.kind === 'bytes'
    ? bytes
    : Buffer.from(lines.join('\n'), 'latin1');
}

/** Every example scenario, for the mutation property (relative paths, sorted). */
export function exampleFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(join(root, d), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    ))
      if (e.isDirectory()) walk(join(d, e.name));
      else if (e.name.endsWith('.yaml')) out.push(join(d, e.name));
  };
  walk('examples');
  return out;
}

/** Loads `file` the way the CLI would for its kind; scripts are run too. */
function loadAny(file: string): void {
  const raw = readScenarioFile(file);
  const s390 = s390Kind(raw);
  const kind = (raw as { kind?: unknown } | null)?.kind;
  if (s390 === 'script') runS390Script(parseS390Script(raw, file));
  else if (s390 === 'sim') parseS390Sim(raw, file);
  else if (s390 === 'explore') parseS390Explore(raw, file);
  else if (kind === 'sim') checkSimResources(parseSimScenario(raw, file));
  else if (kind === 'explore') parseExplore(raw, file);
  else {
    const script = loadScriptWithFlags(file, { bug: [] });
    if (script.guest === undefined && script.ops.length <= 200) runScript(script);
  }
}

/** The mutation property on one mutated example: loaded or a UsageError; throws on anything else. */
export function checkMutation(
  texts: readonly Buffer[],
  ms: readonly Mutation[],
  dir: string,
): 'refused' | 'loaded' {
  const file = join(dir, 'mutated.yaml');
  writeFileSync(file, mutate(texts[ms[0]!.example]!, ms));
  try {
    loadAny(file);
    return 'loaded';
  } catch (e) {
    if (e instanceof UsageError && !e.message.includes('\n')) return 'refused';
    throw e;
  }
}

export function withTempDir<T>(f: (dir: string) => T): T {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-fuzz-'));
  try {
    return f(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function readExamples(root: string): Buffer[] {
  return exampleFiles(root).map((f) => readFileSync(join(root, f)));
}
