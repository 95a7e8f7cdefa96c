// What guest tasks do. The model schedules tasks and handles their faults; the work itself comes from
// a TaskProgram the caller supplies: the simulator plugs in workloads driven by its own RNG, the
// explorer and the tests small fixed programs.

/** Which privilege level and nesting level an access runs at. */
export type TouchMode =
  /** A user-space load/store (CPL 3): the only mode in which Linux can take a 'not present' #PF. */
  | 'user'
  /** A kernel access on the task's behalf (copy_from_user in a syscall): CPL 0, IF=1, preemptible. */
  | 'kernel'
  /**
   * A kernel access in atomic context (under a spinlock: preempt_count > 0), IF=1. Only the legacy
   * PREEMPT guest tells it apart from `kernel`: it cannot schedule there and waits halted (x86-apf §5.3).
   */
  | 'atomic'
  /** The task is an L1 KVM vCPU thread and the access runs in its L2 guest (x86-apf §4.7). */
  | 'l2';

export type TaskAction =
  /** Run for `ns` nanoseconds of guest time without touching memory the model tracks. */
  | { kind: 'compute'; ns: number }
  /** One access to `gpa` (identity-mapped: gva = gpa). */
  | { kind: 'touch'; gpa: number; write: boolean; mode?: TouchMode }
  | { kind: 'exit' };

/**
 * A workload. `next` is asked for a task's next action when its previous one completed; `pc` counts
 * the task's completed actions. A program used with the explorer must be a pure function of
 * (taskId, pc): the encoded state holds `pc` and the fetched action, not the program's own state.
 * The returned object is read at once, so a program may reuse one object for every call.
 */
export interface TaskProgram {
  next(taskId: number, cpu: number, pc: number): TaskAction;
}

/** A program from fixed per-task action lists; a task that runs off its list exits. */
export function fixedProgram(actions: readonly (readonly TaskAction[])[]): TaskProgram {
  const exit: TaskAction = { kind: 'exit' };
  return { next: (taskId, _cpu, pc) => actions[taskId]?.[pc] ?? exit };
}
