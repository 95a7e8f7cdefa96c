import type { Script } from '../../src/script/schema.ts';
import { type MatrixCase } from '../conformance/oracle_matrix_cases.ts';
export declare const GROUPS: readonly ['matrix', 'pageready', 'apf', 'cases', 'differences', 'examples'];
export type Group = (typeof GROUPS)[number];
/** The groups kept in the recorded fixtures. */
export declare const isRecorded: (g: Group) => boolean;
export interface OracleScenario {
    /** "matrix/<config>/<label>" or the file's path from the repository root. */
    name: string;
    group: Group;
    script: Script;
    /** The repository-relative file, for file scenarios. */
    file?: string;
    /** The matrix cell, for matrix scenarios. */
    matrix?: MatrixCase;
    /** Group `differences`: why the two backends differ (the script's description). */
    difference?: string;
}
export declare const root: string;
/** The YAML files of a directory, sorted, optionally filtered by a file-name test. */
export declare function yamlFiles(dir: string, test?: (name: string) => boolean): string[];
/** All scenarios, in group order. Loading parses ~2200 scripts (~0.3 s); the result is cached. */
export declare function oracleScenarios(): OracleScenario[];
/**
 * Scenarios with the same script (the matrix's `none`, `nokvm` and `0` CPUIDs all give
 * kvm_features 0; enforce -1 and 0 are the same VM) share one key, so a live run does each once.
 */
export declare function scriptKey(script: Script): string;
/** A short hash of scriptKey(), stored with each recorded entry. */
export declare function scriptHash(script: Script): string;
