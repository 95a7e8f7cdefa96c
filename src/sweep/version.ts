// kvmsim's version (package.json), written into sweep outputs and checked by queue workers: a point must
// run on the same model version as the rest of its sweep.
import { readFileSync } from 'node:fs';

export const KVMSIM_VERSION: string = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;
