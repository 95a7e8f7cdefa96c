// The optional `guest:` section of an x86 script (docs/scenarios.md, "Scripts with the Linux guest"):
// instead of the bare test guest driven op by op, a Linux guest of a chosen generation boots on the vCPUs
// and runs tasks whose programs touch memory and compute; the script's ops are then host-side only.
import { z } from 'zod';
import { LINUX_GUEST_KINDS, type LinuxGuestKind } from '../guest/x86/linux/config.ts';
import { durationNs, intIn, show, uint } from '../scenario/values.ts';

/** A duration: "50ms", "10us", "1.5s", or a bare number of nanoseconds. */
const duration = durationNs();

const touchFields = {
  /** The guest physical (= virtual: identity-mapped) address accessed. */
  touch: uint(52),
  /**
   * user (CPL 3), kernel (CPL 0, preemptible: copy_from_user), atomic (CPL 0 with preemption disabled),
   * l2 (the task is an L1 KVM vCPU thread and the access runs in its L2 guest).
   */
  mode: z.enum(['user', 'kernel', 'atomic', 'l2']).default('user'),
  write: z.boolean().default(false),
};
const TouchStepSchema = z.strictObject({
  ...touchFields,
  /** The host page is not resident at the start; faulting it in takes `delay`. */
  backing: z.strictObject({ delay: duration }).optional(),
});
/** Without `backing`: for the explorer, where fault-in timing is a nondeterministic step. */
const UntimedTouchStepSchema = z.strictObject(touchFields);

const ComputeStepSchema = z.strictObject({
  /** A burst of user-mode computation that takes this long in virtual time. */
  compute: duration,
});

/**
 * One step of a task's program: `{touch: …}` or `{compute: …}`, with one error line naming both forms.
 * `backing: false` rejects fault-in delays (the explorer's task programs).
 */
export function taskStepSchema<B extends boolean>(opts: { backing: B }) {
  const touch = opts.backing ? TouchStepSchema : UntimedTouchStepSchema;
  const forms = `a step is {touch: gpa, mode, write${opts.backing ? ', backing: {delay}' : ''}} or {compute: duration}`;
  type Out =
    | z.output<B extends true ? typeof TouchStepSchema : typeof UntimedTouchStepSchema>
    | z.output<typeof ComputeStepSchema>;
  return z.unknown().transform((v, ctx): Out => {
    if (v === null || typeof v !== 'object' || !('touch' in v || 'compute' in v)) {
      const keys = v !== null && typeof v === 'object' ? Object.keys(v) : [];
      ctx.addIssue({
        code: 'custom',
        message: `${keys.length ? `unknown field(s) ${keys.map((k) => JSON.stringify(k)).join(', ')}` : `got ${show(v)}`} (${forms})`,
      });
      return z.NEVER;
    }
    const r = ('compute' in v ? ComputeStepSchema : touch).safeParse(v);
    if (r.success) return r.data as Out;
    const issue = r.error.issues[0]!;
    ctx.addIssue({
      code: 'custom',
      path: issue.path,
      message:
        issue.code === 'unrecognized_keys'
          ? `unknown field(s) ${issue.keys.map((k) => JSON.stringify(k)).join(', ')} (${forms})`
          : issue.message,
    });
    return z.NEVER;
  });
}

const TaskStepSchema = taskStepSchema({ backing: true });
export type TaskStep = z.output<typeof TaskStepSchema>;

const LinuxTaskSchema = z.strictObject({
  /** The CPU whose runqueue the task starts on. */
  cpu: intIn(0, 63).default(0),
  /** Its actions in order; a task that runs off the end exits. */
  program: z.array(TaskStepSchema).default([]),
});

export const LinuxGuestSchema = z.strictObject({
  kind: z.enum(LINUX_GUEST_KINDS as [LinuxGuestKind, ...LinuxGuestKind[]]),
  /** CONFIG_PREEMPT (the legacy guest's SEND_ALWAYS and halted-wait choice). */
  preempt: z.boolean().default(false),
  /** `no-kvmapf` on the kernel command line. */
  no_kvmapf: z.boolean().default(false),
  /** GPA of CPU 0's `apf_reason` (64-byte aligned); CPU n's is at + n * 128. */
  apf_reason: uint(52)
    .default(0x10000n)
    .transform((v) => Number(v)),
  /** Preempt a task after this many completed actions when another is runnable (0: never). */
  slice: intIn(0, 1_000_000).default(0),
  /** A hypothetical apf_task_wake_all that frees the dummies it unlinks (no kernel has it). */
  wake_all_frees_dummies: z.boolean().default(false),
  tasks: z.array(LinuxTaskSchema).max(4096).default([]),
});
export type LinuxGuestScript = z.output<typeof LinuxGuestSchema>;
