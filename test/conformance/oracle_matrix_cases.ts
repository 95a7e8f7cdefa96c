// kvm-oracle §3 as script scenarios: the 54 configurations, their outcome classes, and the scripts each
// of the 39 scenario rows turns into. One generator for both backends: the model test
// (oracle_matrix.test.ts) checks the model against the spec's cells, the live oracle suite
// (test/oracle/oracle_suite.ts) runs the very same scripts on /dev/kvm, and the recorded fixtures
// (test/fixtures/oracle/) name them the same way.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OpRecord } from '../../src/script/transcript.ts';

export type ClassName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I';

/** The spec's table, extracted by scripts/extract-oracle-matrix.ts. */
export const matrix = JSON.parse(
  readFileSync(join(import.meta.dirname, '../fixtures/kvm-oracle-matrix.json'), 'utf8'),
) as {
  rows: Array<{ scenario: string; cells: Record<ClassName, string> }>;
};

export const CPUIDS = ['none', 'nokvm', '0', '10', '4000', '4010', '410', '4410', '1007efb'] as const;
export interface Config {
  irqchip: boolean;
  /** -1: KVM_ENABLE_CAP never called. */
  enforce: -1 | 0 | 1;
  cpuid: (typeof CPUIDS)[number];
}

export const features = (c: Config): number =>
  c.cpuid === 'none' || c.cpuid === 'nokvm' ? 0 : Number.parseInt(c.cpuid, 16);
const has = (c: Config, bit: number): boolean => ((features(c) >>> bit) & 1) === 1;

/** The class of a configuration, as kvm-oracle §3's class table defines it. */
export function classOf(c: Config): ClassName {
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

export interface Expect {
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
export function scenarios(label: string, cell: string): Expect[] {
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

/** All 54 configurations, in the order of the spec's axes. */
export const configs: Config[] = [];
for (const irqchip of [false, true])
  for (const enforce of [-1, 0, 1] as const)
    for (const cpuid of CPUIDS) configs.push({ irqchip, enforce, cpuid });

export const configName = (c: Config): string =>
  `irqchip=${Number(c.irqchip)} enforce=${c.enforce} cpuid=${c.cpuid}`;

/**
 * The scenario data (before parseScript) of one cell's script. `enforce: -1` and `0` are the same
 * script: the backends only call KVM_ENABLE_CAP to turn enforcement on, and the spec observed that
 * "never enabled" and 0 behave alike.
 */
export function matrixScriptData(c: Config, ops: Expect['ops']): Record<string, unknown> {
  return {
    kind: 'script',
    era: '6.18',
    vm: {
      memory: '64KiB',
      irqchip: c.irqchip,
      enforce_pv_cpuid: c.enforce === 1,
      kvm_features: c.cpuid === 'none' ? 'none' : features(c),
      guest_mode: 'real',
    },
    ops,
  };
}

export interface MatrixCase {
  /** Unique over the whole matrix: "matrix/<config>/<scenario label>". */
  name: string;
  config: Config;
  cls: ClassName;
  /** The spec row and its cell for this class. */
  row: string;
  cell: string;
  expect: Expect;
  data: Record<string, unknown>;
}

/** Every script of one configuration (39 rows; the "ACK=2 / ACK=~0" row is two scripts). */
export function casesOf(c: Config): MatrixCase[] {
  const cls = classOf(c);
  return matrix.rows.flatMap((row) =>
    scenarios(row.scenario, row.cells[cls]).map((expect) => ({
      name: `matrix/${configName(c)}/${expect.label}`,
      config: c,
      cls,
      row: row.scenario,
      cell: row.cells[cls],
      expect,
      data: matrixScriptData(c, expect.ops),
    })),
  );
}

/** The whole matrix: 54 configurations × 40 scripts. */
export function matrixCases(): MatrixCase[] {
  return configs.flatMap(casesOf);
}
