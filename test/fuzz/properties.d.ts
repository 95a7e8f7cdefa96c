import fc from 'fast-check';
export declare const scriptArb: fc.Arbitrary<Record<string, unknown>>;
/**
 * The op-sequence property on one script: loader refusal (UsageError) is allowed; otherwise two runs
 * without an exception and with equal transcripts. Returns 'refused' or 'ran'; throws on a failure.
 */
export declare function checkOpSequence(raw: Record<string, unknown>): 'refused' | 'ran';
export interface Mutation {
    readonly example: number;
    readonly kind: 'delete' | 'duplicate' | 'truncate' | 'value' | 'bytes' | 'swap';
    readonly at: number;
    readonly pick: number;
}
export declare const mutationArb: (examples: number) => fc.Arbitrary<Mutation[]>;
/** Applies the mutations to an example's bytes. */
export declare function mutate(text: Buffer, ms: readonly Mutation[]): Buffer;
/** Every example scenario, for the mutation property (relative paths, sorted). */
export declare function exampleFiles(root: string): string[];
/** The mutation property on one mutated example: loaded or a UsageError; throws on anything else. */
export declare function checkMutation(texts: readonly Buffer[], ms: readonly Mutation[], dir: string): 'refused' | 'loaded';
export declare function withTempDir<T>(f: (dir: string) => T): T;
export declare function readExamples(root: string): Buffer[];
