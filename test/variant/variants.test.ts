// The variants workbench (issue 18, docs/variants.md): the three worked examples' verdicts through script,
// explore and compare; a bug switch written by hand on the public API gives exactly what the built-in gives;
// state and properties a variant adds; and every kind of variant mistake is one line naming the file and
// the hook, exit 2.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { type CliCase, runCliCases } from '../test_utils/cli_cases.ts';

const tmp = mkdtempSync(join(tmpdir(), 'kvmsim-variants-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const fx = (f: string) => `test/variant/fixtures/${f}`;
const ex = (f: string) => `examples/variants/${f}`;

/** A copy of an explore example with its `bugs` replaced, in the temporary folder. */
function withoutBugs(example: string, name: string): string {
  const raw = parse(readFileSync(example, 'utf8')) as Record<string, unknown>;
  delete raw.bugs;
  delete raw.expect;
  const f = join(tmp, name);
  writeFileSync(f, JSON.stringify(raw));
  return f;
}

writeFileSync(
  join(tmp, 'broken-syntax.ts'),
  "import { defineVariant } from 'kvmsim';\nexport default defineVariant({ name: 'broken', guest: (g) => ({ ...g, }) ;\n",
);

// Guest writes of MSR_KVM_ASYNC_PF_EN with bit 4 set (reserved in 6.18).
writeFileSync(
  join(tmp, 'en-bit4.yaml'),
  JSON.stringify({
    kind: 'script',
    era: '6.18',
    vm: { memory: '4MiB', kvm_features: ['ASYNC_PF', 'ASYNC_PF_INT'] },
    ops: [
      { op: 'apic_enable', mode: 'x2apic' },
      { op: 'wrmsr', msr: 'MSR_KVM_ASYNC_PF_INT', value: 0xec },
      { op: 'wrmsr', msr: 'MSR_KVM_ASYNC_PF_EN', value: 0x3019 },
      { op: 'host_get_msr', msr: 'MSR_KVM_ASYNC_PF_EN' },
    ],
  }),
);

const cases: CliCase[] = [
  // 0–5: the explore verdicts of the worked examples (their `expect:`).
  { args: ['explore', ex('ack-less.explore.yaml'), '--json'] },
  { args: ['explore', ex('ack-less-polled.explore.yaml'), '--json'] },
  { args: ['explore', ex('glisse-change-pte.explore.yaml'), '--json'] },
  { args: ['explore', ex('glisse-change-pte-safety.explore.yaml'), '--json'] },
  { args: ['explore', ex('numa-no-zap.explore.yaml'), '--json'] },
  { args: ['explore', ex('numa-no-zap-safety.explore.yaml'), '--json'] },
  // 6: what the guest sees (a script with the Linux guest), its `expect:` checked by the command.
  { args: ['script', ex('ack-less.script.yaml')] },
  // 7–10: a hand-written variant against the built-in switches it re-expresses.
  { args: ['explore', 'examples/explore/apf-vs-disabled-lapic.yaml', '--json'] },
  {
    args: [
      'explore',
      withoutBugs('examples/explore/apf-vs-disabled-lapic.yaml', 'lapic.json'),
      '--variant',
      fx('lapic-gate-as-variant.ts'),
      '--json',
    ],
  },
  { args: ['explore', 'examples/explore/no-retry-check.yaml', '--json'] },
  {
    args: [
      'explore',
      withoutBugs('examples/explore/no-retry-check.yaml', 'retry.json'),
      '--variant',
      fx('no-retry-check-as-variant.ts'),
      '--json',
    ],
  },
  // 11: state and a property added by a variant.
  { args: ['explore', 'examples/explore/shared-pages.yaml', '--variant', fx('token-count.ts')] },
  // 12–21: mistakes.
  { args: ['script', 'examples/apf-basic.yaml', '--variant', join(tmp, 'broken-syntax.ts')] },
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('unknown-hook.ts')] },
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('kernel-typo.ts')] },
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('throws-at-runtime.ts')] },
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('host-drops-fields.ts')] },
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('no-default.ts')] },
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('missing.ts')] },
  { args: ['explore', 'examples/explore/shared-pages.yaml', '--variant', fx('undeclared-state.ts')] },
  { args: ['script', 'examples/bugs/ack-before-clear.yaml', '--variant', fx('bad-handler.ts')] },
  { args: ['explore', ex('glisse-change-pte.explore.yaml'), '--variant', ex('numa-no-zap.ts')] },
  // 22: the real kernel cannot run a variant.
  { args: ['script', 'examples/apf-basic.yaml', '--variant', ex('ack-less.ts'), '--backend', 'kvm'] },
  // 23: the Glisse variant refuses an era without change_pte.
  { args: ['explore', 'examples/explore/use-change-pte.yaml', '--variant', ex('glisse-change-pte.ts')] },
  // 24: --debug adds the variant's own stack.
  { args: ['script', 'examples/apf-basic.yaml', '--variant', fx('throws-at-runtime.ts'), '--debug'] },
  // 26, 27 (below 25): an MSR bit added by a variant.
  // 25: a sweep over variants (its grid names them).
  { args: ['sweep', ex('ack-less-polled.sweep.yaml'), '--out', join(tmp, 'sweep'), '--jobs', '1', '--json'] },
  { args: ['script', join(tmp, 'en-bit4.yaml'), '--json'] },
  { args: ['script', join(tmp, 'en-bit4.yaml'), '--variant', fx('en-bit4.ts'), '--json'] },
];
const r = runCliCases(cases);
const json = (i: number) => JSON.parse(r[i]!.stdout) as Record<string, unknown>;

test('the worked examples: each explore verdict is the one its scenario expects', () => {
  const expected = [
    ['ack-less', 'counterexample', 'wakeup-liveness'],
    ['ack-less-polled', 'ok', undefined],
    ['glisse-change-pte', 'counterexample', 'change-pte-useless'],
    ['glisse-change-pte-safety', 'ok', undefined],
    ['numa-no-zap', 'counterexample', 'no-spte-in-invalidation'],
    ['numa-no-zap-safety', 'ok', undefined],
  ] as const;
  expected.forEach(([name, verdict, property], i) => {
    const j = json(i);
    assert.equal(j.name, name);
    assert.equal(j.verdict, verdict, `${name}: ${r[i]!.stderr}`);
    assert.equal(j.property, property, name);
    assert.ok(Array.isArray(j.variants) && j.variants.length > 0, `${name} names its variants`);
    // The scenario's own expectation agrees.
    const exp = (parse(readFileSync(cases[i]!.args[1]!, 'utf8')) as { expect: { verdict: string } }).expect;
    assert.equal(exp.verdict, verdict);
  });
});

test('ack-less: the counterexample names the step where the variant left out the ACK', () => {
  const steps = json(0).steps as string[];
  assert.ok(steps.length > 0);
  const text = runCliCases([{ args: ['explore', ex('ack-less.explore.yaml')] }])[0]!.stdout;
  assert.match(text, /\[variants: ack-less\]: counterexample for wakeup-liveness/);
  assert.match(
    text,
    /\| variant ack-less: guest\.pageReadyHandler: after clear_token, iret \(the kernel: ack\)/,
  );
});

test('ack-less: the script shows the guest what the explorer found (its expect: holds, exit 0)', () => {
  assert.equal(r[6]!.status, 0, r[6]!.stderr);
  assert.match(r[6]!.stdout, /hung/);
});

test('a bug switch written by hand on the public API explores exactly like the built-in switch', () => {
  for (const [builtin, variant] of [
    [7, 8],
    [9, 10],
  ] as const) {
    const a = json(builtin);
    const b = json(variant);
    assert.equal(b.verdict, a.verdict);
    assert.equal(b.property, a.property);
    assert.deepEqual(b.steps, a.steps);
    assert.deepEqual(b.loop, a.loop);
    assert.deepEqual(
      (b.stats as { states: number }).states,
      (a.stats as { states: number }).states,
      'the same state space',
    );
  }
});

test('a variant adds state and a property: the explorer encodes it and finds the violation', () => {
  const o = r[11]!;
  assert.equal(o.status, 1, o.stderr);
  assert.match(
    o.stdout,
    /counterexample for variant:token-count\/one-token \(no vCPU allocates more than one/,
  );
  assert.match(o.stdout, /vCPU \d allocated 2 tokens/);
  assert.match(o.stdout, /\| variant token-count: kernel\.alloc_apf_token/);
});

test('variant mistakes: one line naming the file and the hook, exit 2, no stack trace', () => {
  const expect: [number, RegExp][] = [
    [
      12,
      /^kvmsim: variant .*broken-syntax\.ts: module: does not compile: .*\(at .*broken-syntax\.ts:2:\d+\)\n$/,
    ],
    [
      13,
      /^kvmsim: variant test\/variant\/fixtures\/unknown-hook\.ts: kernal: unknown hook \(did you mean kernel\?\)/,
    ],
    [
      14,
      /^kvmsim: variant test\/variant\/fixtures\/kernel-typo\.ts: kernel\.kvm_can_deliver_async_pff: not a kernel function kvmsim models \(did you mean kvm_can_deliver_async_pf\?\)/,
    ],
    [
      15,
      /^kvmsim: variant test\/variant\/fixtures\/throws-at-runtime\.ts: kernel\.kvm_arch_async_page_present: threw Error: boom\n$/,
    ],
    [
      16,
      /^kvmsim: variant test\/variant\/fixtures\/host-drops-fields\.ts: host: returned no \w+: start from the behaviour it receives/,
    ],
    [17, /^kvmsim: variant test\/variant\/fixtures\/no-default\.ts: no default export/],
    [18, /^kvmsim: variant test\/variant\/fixtures\/missing\.ts: no such file\n$/],
    [
      19,
      /^kvmsim: variant test\/variant\/fixtures\/undeclared-state\.ts: state\.vcpu: a hook wrote variantState\(vcpu\)\.seen, which no variant declares/,
    ],
    [
      20,
      /^kvmsim: variant test\/variant\/fixtures\/bad-handler\.ts: guest: pageReadyHandler: "ack" appears twice/,
    ],
    [22, /^kvmsim: --backend kvm: .*variants change the model/],
    [
      23,
      /^kvmsim: variant examples\/variants\/glisse-change-pte\.ts: host: threw Error: change_pte does not exist in 6\.18/,
    ],
  ];
  for (const [i, re] of expect) {
    assert.equal(r[i]!.status, 2, `case ${i}: ${r[i]!.stderr}${r[i]!.stdout.slice(0, 300)}`);
    assert.match(r[i]!.stderr, re, `case ${i}`);
    assert.equal(r[i]!.stderr.split('\n').filter((l) => l !== '').length, 1, `case ${i}: one line`);
    assert.equal(r[i]!.stdout, '', `case ${i}: nothing on stdout`);
  }
  // Stacked variants of different subsystems just compose.
  assert.equal(r[21]!.status, 1, r[21]!.stderr);
  // --debug: the variant's own stack, under the one line.
  assert.match(r[24]!.stderr, /threw Error: boom\n/);
  assert.match(r[24]!.stderr, /Caused by: Error: boom/);
});

test('a sweep whose grid names variants runs them at its points: no ACKs, later page-ready with more workers', () => {
  const o = r[25]!;
  assert.equal(o.status, 0, o.stderr);
  const points = (
    JSON.parse(o.stdout) as { points: { point: Record<string, unknown>; mean: Record<string, number> }[] }
  ).points;
  assert.equal(points.length, 6);
  const at = (tasks: number, variants: boolean) =>
    points.find(
      (p) =>
        p.point['vms[*].workload.tasks_per_vcpu'] === tasks &&
        (p.point.variants as unknown[]).length > 0 === variants,
    )!.mean;
  for (const tasks of [1, 2, 4]) {
    assert.ok(at(tasks, false)['total.events.acks']! > 0);
    assert.equal(at(tasks, true)['total.events.acks'], 0);
  }
  assert.ok(at(4, true)['total.page_ready.p50_us']! > 10 * at(4, false)['total.page_ready.p50_us']!);
});

test('a variant adds an MSR bit: the write that #GPs on the kernel is accepted and reads back', () => {
  const lines = (i: number) =>
    r[i]!.stdout.trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const base = lines(26);
  const variant = lines(27);
  assert.equal(r[26]!.status, 0, r[26]!.stderr);
  assert.equal(r[27]!.status, 0, r[27]!.stderr);
  const en = (rs: Record<string, unknown>[]) => rs.find((x) => x.op === 2)!;
  const get = (rs: Record<string, unknown>[]) => rs.find((x) => x.op === 3)!;
  assert.match(JSON.stringify(en(base)), /#GP/);
  assert.doesNotMatch(JSON.stringify(en(variant)), /#GP/);
  assert.match(
    JSON.stringify(get(variant)),
    /0x3009|12297/,
    'the model stores the value without the new bit',
  );
});
