// Development helper: runs one x86 script scenario on the real-KVM backend and prints the transcript.
//   node --import tsx scripts/kvm-script.ts FILE [--guest real|long] [--json]
// (The CLI's `kvmsim script FILE --backend kvm` is the supported entry point.)
import { runScriptOnKvm } from '../src/oracle/backend.ts';
import type { GuestChoice } from '../src/oracle/plan.ts';
import { readScenarioFile, validateScenario } from '../src/scenario/load.ts';
import { ScriptSchema } from '../src/script/schema.ts';
import { formatJsonLines, formatTable } from '../src/script/transcript.ts';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) {
  console.error('usage: kvm-script.ts FILE [--guest real|long] [--json]');
  process.exit(2);
}
const g = args.indexOf('--guest');
const guest = (g >= 0 ? args[g + 1] : 'auto') as GuestChoice;
const script = validateScenario(file, readScenarioFile(file, { bigint: true }), ScriptSchema);
const r = await runScriptOnKvm(script, { guest });
if ('records' in r)
  process.stdout.write(args.includes('--json') ? formatJsonLines(r.records) : formatTable(r.records));
if (r.status === 'ok') {
  console.error(`# ${r.guest} guest, ${r.elapsedMs.toFixed(0)} ms; ${r.notes.join('; ')}`);
  console.error(`# host ${JSON.stringify(r.fingerprint)}`);
} else {
  console.error(`# ${r.status}: ${r.reason}`);
  process.exitCode = r.status === 'skipped' ? 0 : 1;
}
