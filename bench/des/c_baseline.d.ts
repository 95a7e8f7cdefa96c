/** Where des.c is read from; KVMSIM_DES_C overrides (e.g. on a machine with the reference elsewhere). */
export declare const DES_C_SOURCE: string;
/** One line of des.c's JSON output. */
export interface CRun {
    events: number;
    faults: number;
    simTime: string;
    meanWait: string;
    wall: number;
    evps: number;
}
export type CBuild = {
    ok: true;
    binary: string;
    gcc: string;
    cleanup: () => void;
} | {
    ok: false;
    reason: string;
};
export declare function buildDesC(): CBuild;
/**
 * Runs the binary once. des.c prints simTime with %.6f and meanWait with %.4f; they are kept as the printed
 * strings (re-parsing "%.6f" into a double would compare rounded values against exact ones).
 */
export declare function runDesC(binary: string, vcpus: number, cap: number, limit: number, seed: number): CRun;
