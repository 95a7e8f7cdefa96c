// A child process for CLI tests: reads a JSON list of command lines from argv[2], runs each in-process
// (test/test_utils/cli_inprocess.ts), and writes the results as JSON to argv[3]. Each case may name a
// directory whose files are listed after the run (to check that nothing was written).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { runCli } from '../test_utils/cli_inprocess.ts';

interface Case {
  args: string[];
  env?: Record<string, string>;
  /** Directory to list after the run. */
  dir?: string;
}

const cases = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Case[];
const results = [];
for (const c of cases) {
  const r = await runCli(c.args, c.env ?? {});
  results.push({ ...r, files: c.dir !== undefined ? readdirSync(c.dir).sort() : [] });
}
writeFileSync(process.argv[3]!, JSON.stringify(results));
