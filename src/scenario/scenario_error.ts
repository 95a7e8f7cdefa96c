import { UsageError } from './usage_error.ts';

/**
 * A scenario file that cannot be used. The message is one line naming the file, the field and what is
 * allowed, e.g. `examples/x.yaml: vm.vcpus: expected an integer 1..64, got "two"`. When the place in the
 * file is known (YAML syntax errors, schema errors in a file read from YAML), the line ends with it as
 * `(at examples/x.yaml:3:9)` (line:column, from 1), which editors and terminals open at that place.
 */
export class ScenarioError extends UsageError {
  override name = 'ScenarioError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly allowed: string,
    readonly at?: { line: number; col: number },
  ) {
    super(`${file}: ${field || '(top level)'}: ${allowed}${at ? ` (at ${file}:${at.line}:${at.col})` : ''}`);
  }
}
