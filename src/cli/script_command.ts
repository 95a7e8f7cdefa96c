// `kvmsim script FILE`: run a script scenario and print its transcript.
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ERA_NAMES, type EraName } from '../host/x86/era.ts';
import { readScenarioFile } from '../scenario/load.ts';
import { parseScript } from '../script/load_script.ts';
import { runScript } from '../script/runner.ts';
import { formatJsonLines, formatTable } from '../script/transcript.ts';
import { FTRACE_HEADER } from '../trace/ftrace.ts';
import { UsageError } from './usage_error.ts';

interface ScriptFlags {
  json?: boolean;
  era?: string;
  ftrace?: string;
  traceEvents?: boolean;
}

export function register(program: Command): void {
  program
    .command('script')
    .description('run a `kind: script` scenario on the model and print its normalized transcript')
    .argument('<file>', 'scenario file (YAML or JSON)')
    .option('--json', 'one JSON object per line instead of a table')
    .option('--era <era>', `host kernel era (${ERA_NAMES.join(', ')}); overrides the scenario's`)
    .option('--trace-events', 'include the kvm_*async_pf* tracepoints in the transcript')
    .option('--ftrace <file>', 'write the tracepoints in ftrace text format to FILE')
    .action((file: string, flags: ScriptFlags) => {
      if (flags.era !== undefined && !(ERA_NAMES as readonly string[]).includes(flags.era))
        throw new UsageError(
          `--era: expected one of ${ERA_NAMES.join(', ')}, got ${JSON.stringify(flags.era)}`,
        );
      const raw = readScenarioFile(file, { bigint: true });
      if (flags.era !== undefined && raw !== null && typeof raw === 'object')
        (raw as { era?: string }).era = flags.era as EraName;
      const script = parseScript(raw, file);
      const { records, ftrace } = runScript(script, {
        traceEvents: flags.traceEvents,
        ftrace: flags.ftrace !== undefined,
      });
      if (flags.ftrace !== undefined)
        writeFileSync(flags.ftrace, `${FTRACE_HEADER}\n${ftrace.join('\n')}${ftrace.length ? '\n' : ''}`);
      process.stdout.write(flags.json ? formatJsonLines(records) : formatTable(records));
    });
}
