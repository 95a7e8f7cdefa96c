// The order a protocol comparison is expected to show, and why a run that departs from it does.
//
// With more than one task per vCPU, async PF lets the guest run another task while a page comes in, so
// guest work done is expected to rank interrupt ≥ legacy ≥ off ≥ sync (docs/simulator.md, "Protocol
// modes"). A comparison checks each adjacent pair of that order among the modes it ran. A pair that comes
// out the other way is either within noise (the 95% intervals overlap) or has a mechanism, which the note
// names and backs with the figures of the same comparison: the exits each mode paid, its page-ready
// latency, and where vCPU time went.
import type { ApfMode } from './schema.ts';

/** Expected guest-work order, best first. */
export const EXPECTED_ORDER: readonly ApfMode[] = ['interrupt', 'legacy', 'off', 'sync'];

/** What a note needs of one mode's summary: mean and 95% half-width per compare metric key. */
export interface ModeFigures {
  mode: ApfMode;
  metrics: Record<string, { mean: number; ci95: number }>;
}

export interface OrderNote {
  /** The mode expected to do at least as much guest work … */
  expected: ApfMode;
  /** … and the one that did more. */
  over: ApfMode;
  /** Whether the difference exceeds the two 95% intervals (false: within noise). */
  significant: boolean;
  text: string;
}

const f1 = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 1 });
const f0 = (x: number): string => x.toLocaleString('en-US', { maximumFractionDigits: 0 });
const pct = (a: number, b: number): string => `${f1(((a - b) / b) * 100)}%`;

/**
 * Notes for every adjacent pair of EXPECTED_ORDER (among `modes`) whose guest work is inverted.
 * `tasksPerVcpu` is the smallest tasks-per-vCPU of the scenario's VMs.
 */
export function orderNotes(modes: readonly ModeFigures[], tasksPerVcpu: number): OrderNote[] {
  const ran = EXPECTED_ORDER.map((m) => modes.find((x) => x.mode === m)).filter(
    (x): x is ModeFigures => x !== undefined,
  );
  const notes: OrderNote[] = [];
  for (let i = 0; i + 1 < ran.length; i++) {
    const hi = ran[i]!;
    const lo = ran[i + 1]!;
    const wHi = hi.metrics.task_cpu_rate!;
    const wLo = lo.metrics.task_cpu_rate!;
    if (!(wLo.mean > wHi.mean)) continue;
    const significant = wLo.mean - wLo.ci95 > wHi.mean + wHi.ci95;
    const head = `${lo.mode} did ${pct(wLo.mean, wHi.mean)} more guest work than ${hi.mode}`;
    const why = significant
      ? mechanism(hi, lo, tasksPerVcpu)
      : 'the 95% intervals overlap: the inversion is within seed-to-seed noise.';
    notes.push({ expected: hi.mode, over: lo.mode, significant, text: `${head}: ${why}` });
  }
  return notes;
}

/** The mechanism behind `lo` doing more guest work than `hi`, with this comparison's figures. */
function mechanism(hi: ModeFigures, lo: ModeFigures, tasksPerVcpu: number): string {
  const m = (x: ModeFigures, k: string): number => x.metrics[k]?.mean ?? Number.NaN;
  const both = (k: string, f: (x: number) => string, unit: string): string =>
    `${hi.mode} ${f(m(hi, k))}${unit} vs ${lo.mode} ${f(m(lo, k))}${unit}`;
  const exits = `VM exits/s: ${both('exits_per_s', f0, '')}`;
  const apfTime = `vCPU time in APF handling and exits: ${both('apf_exits', f1, '%')}`;
  if (tasksPerVcpu <= 1 && (hi.mode === 'interrupt' || hi.mode === 'legacy'))
    return (
      `with ${tasksPerVcpu} task per vCPU the guest has nothing else to run while a page comes in, so async ` +
      `PF only adds handler work and exits (${apfTime}).`
    );
  if (hi.mode === 'interrupt' && lo.mode === 'legacy')
    return (
      "legacy tells the guest 'page ready' only at the vCPU's next exit (before 5.8 the worker neither " +
      'kicks the vCPU nor expects an ACK), so it pays fewer exits per fault ' +
      `(${exits}); its price is page-ready latency (p50: ${both('page_ready_p50', f1, ' µs')}), which ` +
      'costs no guest work while other tasks are runnable.'
    );
  if (lo.mode === 'off')
    return (
      `with async PF on, each fault costs the #PF, the page-ready notification and their exits (${apfTime}), ` +
      'and this workload gains less from running another task meanwhile than that costs.'
    );
  // sync over off: a halted vCPU wakes and re-enters at every completion; a blocked thread just returns.
  return (
    "off's artificial halt and its wakeup cost more than sync's blocked vCPU thread here " +
    `(off ${f1(m(hi, 'apf_halted'))}% halted, sync ${f1(m(lo, 'sync_blocked'))}% blocked; ${exits}).`
  );
}
