/** A user mistake (bad flag, bad scenario file, bad value): printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
