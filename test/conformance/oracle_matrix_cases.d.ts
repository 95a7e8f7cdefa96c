import type { OpRecord } from '../../src/script/transcript.ts';
export type ClassName = 'A' | 'B' | 'C' | 'D' | 'E' | 'F' | 'G' | 'H' | 'I';
/** The spec's table, extracted by scripts/extract-oracle-matrix.ts. */
export declare const matrix: {
    rows: Array<{
        scenario: string;
        cells: Record<ClassName, string>;
    }>;
};
export declare const CPUIDS: readonly ['none', 'nokvm', '0', '10', '4000', '4010', '410', '4410', '1007efb'];
export interface Config {
    irqchip: boolean;
    /** -1: KVM_ENABLE_CAP never called. */
    enforce: -1 | 0 | 1;
    cpuid: (typeof CPUIDS)[number];
}
export declare const features: (c: Config) => number;
/** The class of a configuration, as kvm-oracle §3's class table defines it. */
export declare function classOf(c: Config): ClassName;
export interface Expect {
    label: string;
    ops: Array<Record<string, unknown>>;
    /** Expected [result, value] per op, in the transcript's vocabulary. */
    want: Array<[OpRecord['result'], string | undefined]>;
}
/** Turns a row label and a cell ("W:ok R:0x3001 hG:0x3001", "hS->0 hG:0x0 R:#GP") into scripts. */
export declare function scenarios(label: string, cell: string): Expect[];
/** All 54 configurations, in the order of the spec's axes. */
export declare const configs: Config[];
export declare const configName: (c: Config) => string;
/**
 * The scenario data (before parseScript) of one cell's script. `enforce: -1` and `0` are the same
 * script: the backends only call KVM_ENABLE_CAP to turn enforcement on, and the spec observed that
 * "never enabled" and 0 behave alike.
 */
export declare function matrixScriptData(c: Config, ops: Expect['ops']): Record<string, unknown>;
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
export declare function casesOf(c: Config): MatrixCase[];
/** The whole matrix: 54 configurations × 40 scripts. */
export declare function matrixCases(): MatrixCase[];
