// Load-time checks of the issue-17 ops (docs/peer-suites.md) that the schema cannot state: the
// hypercalls whose answer the model cannot give are refused with the reason, not answered wrongly.
import { ScenarioError } from '../scenario/scenario_error.ts';
import { isHostMmOp, isMapOp, isMigrationOp, type Script, type ScriptOp } from './schema.ts';

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

/** VMM ops that act on the host side only: they may run while the destination has no memslot. */
const HOST_ONLY = new Set([
  'host_set_msr',
  'host_get_msr',
  'host_set_msrs',
  'host_set_lapic',
  'host_get_lapic',
  'host_restore_msrs',
  'host_restore_lapic',
]);

/**
 * Migration ops (schema.ts MigrationOpSchema): with the bare test guest and without the host-memory or
 * guest-mapping models; restores only after a `migrate`; `host_add_memslot` once after a `migrate` with
 * `memslots: later`, and until then only host-side ops (the guest has no memory to run in).
 */
export function checkMigration(file: string, s: Script): void {
  const first = s.ops.findIndex((op) => isMigrationOp(op));
  if (first < 0) return;
  const refuse = (field: string, why: string): never => {
    throw new ScenarioError(file, field, why);
  };
  if (s.guest !== undefined)
    refuse(`ops[${first}].op`, 'migration runs with the bare test guest only (no `guest:`)');
  if (s.vm.mmu_notifiers || s.vm.maps !== undefined)
    refuse(`ops[${first}].op`, 'migration is not modelled with vm.mmu_notifiers or vm.maps');
  let migrated = false;
  let noSlot = false;
  s.ops.forEach((op, i) => {
    if (op.op === 'migrate') {
      if (noSlot) refuse(`ops[${i}].op`, 'the destination has no memslot yet: add host_add_memslot first');
      migrated = true;
      noSlot = op.memslots === 'later';
      return;
    }
    if ((op.op === 'host_restore_msrs' || op.op === 'host_restore_lapic') && !migrated)
      refuse(`ops[${i}].op`, `${op.op} restores what a migrate op saved: expected a migrate op before it`);
    if (op.op === 'host_add_memslot') {
      if (!noSlot)
        refuse(
          `ops[${i}].op`,
          'host_add_memslot creates the RAM memslot of a destination made with `migrate: { memslots: later }`; this VM has it',
        );
      noSlot = false;
      return;
    }
    if (noSlot && !isHostMmOp(op) && !isMapOp(op) && !HOST_ONLY.has(op.op))
      refuse(
        `ops[${i}].op`,
        `${op.op} runs the guest, which has no memory on the destination until host_add_memslot`,
      );
  });
}
