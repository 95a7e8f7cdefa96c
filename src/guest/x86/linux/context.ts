// What every step of the Linux guest model works on: the VM it runs in (for the exits it calls), its
// state, the workload, and the event sink. Modules take this one object rather than four arguments.
import type { KvmVm } from '../../../host/x86/vm.ts';
import type { TaskProgram } from './program.ts';
import type { GuestEventSink } from './sink.ts';
import type { WakeTask } from './sleep_table.ts';
import type { LinuxGuestState } from './state.ts';

export interface GuestCtx {
  readonly vm: KvmVm;
  /** Replaceable: the explorer points the guest at one scratch state after another. */
  state: LinuxGuestState;
  readonly program: TaskProgram;
  readonly sink: GuestEventSink | null;
  /** The CPU on which the sleep-table code now runs (the waker, for try_to_wake_up). */
  wakerCpu: number;
  /** wakeTask(this, task, wakerCpu), created once so that waking allocates nothing. */
  readonly wake: WakeTask;
}
