// kvm-oracle §3: the 54-configuration × 39-scenario MSR outcome matrix that the real 6.18.44 kernel
// produced, replayed on the model as script scenarios. Expected cells: test/fixtures/kvm-oracle-matrix.json
// (extracted from the spec by scripts/extract-oracle-matrix.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';
import type { OpRecord } from '../../src/script/transcript.ts';

type ClassName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I';
const matrix = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/kvm-oracle-matrix.json'), 'utf8'),
) as {
  rows: Array<{ scenario: string; cells: Record<ClassName, string> }>;
};

const CPUIDS = ['none', 'nokvm', '0', '10', '4000', '4010', '410', '4410', '1007efb'] as const;
interface Config {
  irqchip: boolean;
  /** -1: KVM_ENABLE_CAP never called. */
  enforce: -1 | 0 | 1;
  cpuid: (typeof CPUIDS)[number];
}

const features = (c: Config): number =>
  c.cpuid === 'none' || c.cpuid === 'nokvm' ? 0 : Number.parseInt(c.cpuid, 16);
const has = (c: Config, bit: number): boolean => ((features(c) >>> bit) & 1) === 1;

/** The class of a configuration, as kvm-oracle §3's class table defines it. */
function classOf(c: Config): ClassName {
  const enforce = c.enforce === 1;
  const pf = has(c, 4);
  const int = has(c, 14);
  const vmexit = has(c, 10);
  if (enforce && !pf && !int) return 'B';
  if (!c.irqchip) {
    if (!enforce || (pf && int)) return 'A';
    return pf ? 'C' : 'D';
  }
  if (!enforce || (pf && int && vmexit)) return 'E';
  if (pf && int) return 'H';
  if (pf && vmexit) return 'I';
  return pf ? 'F' : 'G';
}

interface Expect {
  label: string;
  ops: Array<Record<string, unknown>>;
  /** Expected [result, value] per op, in the transcript's vocabulary. */
  want: Array<[OpRecord['result'], string | undefined]>;
}

const MSR: Record<string, string> = {
  EN: 'MSR_KVM_ASYNC_PF_EN',
  INT: 'MSR_KVM_ASYNC_PF_INT',
  ACK: 'MSR_KVM_ASYNC_PF_ACK',
};

/** Turns a row label and a cell ("W:ok R:0x3001 hG:0x3001", "hS->0 hG:0x0 R:#GP") into scripts. */
function scenarios(label: string, cell: string): Expect[] {
  const tok = cell.split(/\s+/);
  const get = (k: string) =>
    tok
      .filter((t) => t.startsWith(`${k}:`) || t.startsWith(`${k}->`))
      .map((t) => t.slice(k.length + (t[k.length] === ':' ? 1 : 2)));
  const val = (v: string): [OpRecord['result'], string | undefined] =>
    v === '#GP' ? ['#GP', undefined] : ['ok', v];
  const r = get('R');
  const hg = get('hG');
  const rVal = r[0];
  const hgVal = (hg[0] === 'same' ? rVal : hg[0]) ?? '0x0';
  let m = /^(EN|INT|ACK) initial read$/.exec(label);
  if (m) {
    const msr = MSR[m[1]!];
    return [
      {
        label,
        ops: [
          { op: 'rdmsr', msr },
          { op: 'host_get_msr', msr },
        ],
        want: [val(rVal!), ['ok', hgVal]],
      },
    ];
  }
  if (label === 'ACK=2 / ACK=~0') {
    const w = get('W')[0]!;
    return ['0x2', '0xffffffffffffffff'].map((v) => ({
      label: `ACK=${v}`,
      ops: [
        { op: 'wrmsr', msr: MSR.ACK, value: v },
        { op: 'rdmsr', msr: MSR.ACK },
      ],
      want: [[w === 'ok' ? 'ok' : '#GP', undefined], val(rVal!)],
    }));
  }
  m = /^host (EN|INT|ACK)=(0x[0-9a-f]+|[0-9]+)/.exec(label);
  if (m) {
    const msr = MSR[m[1]!];
    const ops: Array<Record<string, unknown>> = [
      { op: 'host_set_msr', msr, value: m[2] },
      { op: 'host_get_msr', msr },
    ];
    const want: Expect['want'] = [
      [get('hS')[0] === '1' ? 'ok' : 'rejected', undefined],
      ['ok', hgVal],
    ];
    if (rVal !== undefined) {
      ops.push({ op: 'rdmsr', msr });
      want.push(val(rVal));
    }
    return [{ label, ops, want }];
  }
  const writes = [...label.matchAll(/(EN|INT|ACK)=(0x[0-9a-f]+|[0-9]+)/g)];
  const msr = MSR[writes[0]![1]!];
  const ops = writes.map((w) => ({ op: 'wrmsr', msr: MSR[w[1]!], value: w[2] }));
  const want: Expect['want'] = get('W').map((w) => [w === 'ok' ? 'ok' : '#GP', undefined]);
  ops.push({ op: 'rdmsr', msr } as never, { op: 'host_get_msr', msr } as never);
  want.push(val(rVal!), ['ok', hgVal]);
  return [{ label, ops, want }];
}

const configs: Config[] = [];
for (const irqchip of [false, true])
  for (const enforce of [-1, 0, 1] as const)
    for (const cpuid of CPUIDS) configs.push({ irqchip, enforce, cpuid });

test('kvm-oracle §3: the class table covers all 54 configurations', () => {
  assert.equal(configs.length, 54);
  assert.equal(new Set(configs.map(classOf)).size, 9);
});

let cells = 0;
for (const c of configs) {
  const cls = classOf(c);
  const name = `irqchip=${Number(c.irqchip)} enforce=${c.enforce} cpuid=${c.cpuid}`;
  test(`kvm-oracle §3 class ${cls}: ${name}, all 39 scenarios`, () => {
    for (const row of matrix.rows) {
      for (const s of scenarios(row.scenario, row.cells[cls])) {
        const script = parseScript(
          {
            kind: 'script',
            era: '6.18',
            vm: {
              memory: '64KiB',
              irqchip: c.irqchip,
              enforce_pv_cpuid: c.enforce === 1,
              kvm_features: c.cpuid === 'none' ? 'none' : features(c),
              guest_mode: 'real',
            },
            ops: s.ops,
          },
          'oracle-matrix',
        );
        const got = runScript(script).records.filter((r): r is OpRecord => 'op' in r);
        assert.deepEqual(
          got.map((r) => [r.result, r.value]),
          s.want
            .map(([res, v]) => [res, res === 'ok' && v !== undefined ? v : undefined])
            .map(([res, v]) => [res, v]),
          `${name} (class ${cls}) ${s.label}: cell "${row.cells[cls]}"`,
        );
        cells++;
      }
    }
  });
}

test('kvm-oracle §3: 54 × 39 cells compared', () => {
  assert.equal(cells, 54 * 39);
});
