// panic() and WARN in the model: a panic stops the whole guest (every CPU's step does nothing more) and
// is reported once through the sink; a warning is reported and execution goes on.
import type { GuestCtx } from './context.ts';

export const PANIC_NONE = 0;
export const PANIC_APF_IRQS_DISABLED = 1;
export const PANIC_APF_KERNEL_MODE = 2;
/** An exception with no handler in the model (a #GP without an MSR fixup, an unexpected vector). */
export const PANIC_UNHANDLED_EXCEPTION = 3;
/** A 'not present' #PF from user mode on a CPU running no task: a model-usage error. */
export const PANIC_NO_TASK = 4;

export const PANIC_MESSAGES: readonly string[] = [
  '',
  'Host injected async #PF in interrupt disabled region',
  'Host injected async #PF in kernel mode',
  'unhandled exception',
  'async #PF from user mode with no current task',
];

export function guestPanic(g: GuestCtx, cpu: number, reason: number): void {
  const st = g.state;
  if (st.panicked >= 0) return;
  st.panicked = cpu;
  st.panicReason = reason;
  st.counters.panics++;
  g.sink?.panic(cpu, PANIC_MESSAGES[reason]!);
}

export function guestWarning(g: GuestCtx, cpu: number, message: string): void {
  g.state.counters.warnings++;
  g.sink?.warning(cpu, message);
}
