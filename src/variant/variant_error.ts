// A variant's mistake, reported as one line naming the variant file and the hook (exit 2, like any other
// usage error); the variant's own stack trace only with --debug.
import { UsageError } from '../scenario/usage_error.ts';

export class VariantError extends UsageError {
  override name = 'VariantError';
  constructor(
    readonly file: string,
    readonly hook: string,
    message: string,
    cause?: unknown,
  ) {
    super(`variant ${file}: ${hook === '' ? '' : `${hook}: `}${message}`);
    if (cause instanceof Error && cause.stack) this.stack = `${this.stack}\nCaused by: ${cause.stack}`;
  }
}

/** One line for what a variant threw. */
export function thrownText(e: unknown): string {
  if (e instanceof Error) return `threw ${e.name}: ${e.message.split('\n')[0]}`;
  return `threw ${JSON.stringify(e) ?? String(e)}`;
}
