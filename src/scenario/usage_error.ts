/**
 * A run that cannot go on (the simulator's virtual time is stuck): printed as one line, exit code 3,
 * the code of a budget reached.
 */
export class StuckError extends Error {
  override name = 'StuckError';
}

/** A user mistake (bad flag, bad scenario file, bad value): printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A budget (--max-time, --max-events, ...) ran out where no partial result can be printed: exit 3. */
export class BudgetError extends StuckError {
  override name = 'BudgetError';
}
