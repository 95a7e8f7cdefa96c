// Types of scripts/build.mjs (plain JavaScript, so `npm ci` can run it before anything is compiled).

/** Builds the JavaScript of dist/ into `out` (emptied first). */
export function buildJs(out: string): Promise<void>;
/** Writes the declarations under `out`/types with tsc. */
export function buildTypes(out: string): void;
