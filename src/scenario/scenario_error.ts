import { UsageError } from './usage_error.ts';

/**
 * A scenario file that cannot be used. The message is one line naming the file, the field and what is
 * allowed, e.g. `examples/x.yaml: vm.vcpus: expected an integer 1..64, got "two"`.
 */
export class ScenarioError extends UsageError {
  override name = 'ScenarioError';
  constructor(
    readonly file: string,
    readonly field: string,
    readonly allowed: string,
  ) {
    super(`${file}: ${field || '(top level)'}: ${allowed}`);
  }
}
