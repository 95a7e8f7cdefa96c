// What a variant may change in the guests (docs/variants.md): the Linux guest's page-ready handler, as
// the order of its instructions after the EOI and the irq_hv_callback_count increment. The kernel's order
// (sysvec_kvm_asyncpf_interrupt, 5.8+) reads the token, wakes its waiter, clears the slot and then ACKs;
// the `ack-before-clear` bug switch is written on this same hook (GUEST_BUG_VARIANTS).
import type { BugName, BugSet } from '../../host/x86/bugs.ts';
import { BUG_NAMES } from '../../host/x86/bugs.ts';

/** One instruction of the page-ready handler. */
export type PageReadyOp = 'read_token' | 'wake' | 'clear_token' | 'ack';
export const PAGE_READY_OPS: readonly PageReadyOp[] = ['read_token', 'wake', 'clear_token', 'ack'];

export interface GuestBehaviour {
  /**
   * The page-ready handler's instructions in order, each at most once. An ACK that is the last
   * instruction waits for its #GP (if any) before IRET; one that is not continues with the next.
   */
  readonly pageReadyHandler: readonly PageReadyOp[];
}

/** The guest kernel's own behaviour. */
export const LINUX_GUEST_BEHAVIOUR: GuestBehaviour = {
  pageReadyHandler: ['read_token', 'wake', 'clear_token', 'ack'],
};

/** The guest part of a variant (the whole API is src/variant/api.ts). */
export interface GuestVariant {
  readonly name: string;
  readonly guest?: (g: GuestBehaviour) => GuestBehaviour;
}

/** The guest-side bug switches written as variants. */
export const GUEST_BUG_VARIANTS: Partial<Record<BugName, GuestVariant>> = {
  // The page-ready handler ACKs before it clears the token (x86-apf §6.1 item 1): the host's rescan may
  // find the slot still busy.
  'ack-before-clear': {
    name: 'ack-before-clear',
    guest: (g) => ({
      ...g,
      pageReadyHandler: g.pageReadyHandler.flatMap((op): PageReadyOp[] =>
        op === 'clear_token' ? [] : op === 'ack' ? ['ack', 'clear_token'] : [op],
      ),
    }),
  },
};

/** The guest behaviour with the bug switches in `bugs`, then `variants`, applied in order. */
export function guestBehaviour(bugs: BugSet, variants: readonly GuestVariant[] = []): GuestBehaviour {
  let g = LINUX_GUEST_BEHAVIOUR;
  for (let i = 0; i < BUG_NAMES.length; i++) {
    const v = GUEST_BUG_VARIANTS[BUG_NAMES[i]!];
    if (v?.guest !== undefined && (bugs & (1 << i)) !== 0) g = v.guest(g);
  }
  for (const v of variants) if (v.guest !== undefined) g = v.guest(g);
  return g;
}

/** Why a page-ready handler order is not one the model can run, or null. */
export function pageReadyHandlerError(ops: readonly unknown[]): string | null {
  const seen = new Set<unknown>();
  for (const op of ops) {
    if (!(PAGE_READY_OPS as readonly unknown[]).includes(op))
      return `unknown instruction ${JSON.stringify(op)} (allowed: ${PAGE_READY_OPS.join(', ')})`;
    if (seen.has(op)) return `${JSON.stringify(op)} appears twice (each instruction at most once)`;
    seen.add(op);
  }
  return null;
}
