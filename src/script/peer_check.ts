// Load-time checks of the issue-17 ops (docs/peer-suites.md) that the schema cannot state: the
// hypercalls whose answer the model cannot give are refused with the reason, not answered wrongly.
import { ScenarioError } from '../scenario/scenario_error.ts';
import type { ScriptOp } from './schema.ts';

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
