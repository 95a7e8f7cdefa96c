// The package's version, from package.json (esbuild inlines it into dist/; from sources it is read at start).
import pkg from '../../package.json' with { type: 'json' };

export const VERSION: string = pkg.version;
