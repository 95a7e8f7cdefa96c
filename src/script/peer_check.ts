// Load-time checks of the issue-17 ops (docs/peer-suites.md) that the schema cannot state: the
// hypercalls whose answer the model cannot give are refused with the reason, not answered wrongly.
import { ScenarioError } from '../scenario/scenario_error.ts';
import type { Script, ScriptOp } from './schema.ts';

export function checkPeerOp(file: string, op: ScriptOp, i: number): void {
  if (op.op !== 'hypercall') return;
  if (op.nr === 9n)
    throw new ScenarioError(
      file,
      `ops[${i}].nr`,
      'KVM_HC_CLOCK_PAIRING (9) answers from the host clocksource, which the model does not have',
    );
  if (op.nr === 10n && ((op.args[0] ?? 0n) !== 0n || (op.args[1] ?? 0n) !== 0n))
    throw new ScenarioError(
      file,
      `ops[${i}].args`,
      'KVM_HC_SEND_IPI with a non-empty destination bitmap: IPI delivery by the PV hypercall is not modelled (use bitmaps 0)',
    );
}

/**
 * Guest-programmed handlers (handlers.page_fault.not_present): the handler waits for the page itself, so a
 * `retry: false` touch (the guest gives up on the access) cannot be combined with it.
 */
export function checkPeerHandlers(file: string, s: Script): void {
  const h = s.handlers;
  if (h.page_fault.not_present === undefined && h.page_ready.actions === undefined) return;
  const i = s.ops.findIndex((op) => op.op === 'touch' && !op.retry);
  if (i >= 0 && h.page_fault.not_present !== undefined)
    throw new ScenarioError(
      file,
      `ops[${i}].retry`,
      'retry: false cannot be combined with handlers.page_fault.not_present (that handler decides what the access does)',
    );
  if (s.guest !== undefined)
    throw new ScenarioError(
      file,
      h.page_fault.not_present !== undefined
        ? 'handlers.page_fault.not_present'
        : 'handlers.page_ready.actions',
      'guest-programmed handlers belong to the bare test guest; the Linux guest has its own',
    );
}
