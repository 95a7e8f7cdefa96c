// The version of kvmsim (package.json), shown in reports.
import pkg from '../../package.json' with { type: 'json' };

/** kvmsim's version (package.json; the build inlines it, so dist/ needs no file beside it). */
export const KVMSIM_VERSION: string = pkg.version;
