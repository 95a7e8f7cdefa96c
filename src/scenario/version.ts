// kvmsim's version, from package.json: `--version`, the library's VERSION, the sweep outputs and reports,
// and the check that a queue worker runs the submitter's version. A JSON import, which the build inlines, so
// dist/ needs no package.json beside it.
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
