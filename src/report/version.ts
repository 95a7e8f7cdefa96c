// The version of kvmsim (package.json), shown in reports.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export const KVMSIM_VERSION: string = (
  JSON.parse(readFileSync(join(import.meta.dirname, '../../package.json'), 'utf8')) as { version: string }
).version;
