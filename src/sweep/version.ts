// kvmsim's version (package.json), written into sweep outputs and checked by queue workers: a point must
// run on the same model version as the rest of its sweep.
import pkg from '../../package.json' with { type: 'json' };

/** kvmsim's version (package.json; the build inlines it, so dist/ needs no file beside it). */
export const KVMSIM_VERSION: string = pkg.version;
