// Up-front resource estimates: before a simulation allocates its per-page state, estimate the memory it
// needs and refuse a scenario above the budget with one line naming the file, the field and the limit
// (docs/cli.md, "Resource estimate"). `--allow-large` lifts the limit.
//
// The estimate follows what the simulator allocates per page and per vCPU (src/sim/sim_state.ts,
// src/mem/page_state.ts, src/sim/host_memory.ts): a byte per guest page (its state), two bits per page
// of host RAM (the referenced and evicted-once bitmaps), and a few KiB per vCPU and per task. Measured:
// a 256 GiB VM (6.7e7 pages) on a 2 TiB host adds 59 MB of RSS to a 1 GiB one, about one byte a page.
import { PAGE_SIZE } from '../mem/guest_memory.ts';
import { ScenarioError } from './scenario_error.ts';

/** Default limit of the estimated simulator memory: 4 GiB (a sixth of a 24 GiB machine). */
export const DEFAULT_MEMORY_BUDGET = 4 * 2 ** 30;

const BYTES_PER_GUEST_PAGE = 1;
const BYTES_PER_HOST_PAGE = 0.25;
const BYTES_PER_VCPU = 4096;
const BYTES_PER_TASK = 1024;

export interface SimShape {
  readonly file: string;
  readonly ramPages: number;
  readonly vms: ReadonlyArray<{
    readonly group: number;
    readonly memory: number;
    readonly vcpus: number;
    readonly workload: { readonly tasks_per_vcpu: number };
  }>;
}

/** Estimated bytes a simulation of `s` allocates, and the `vms` entry that contributes most. */
export function estimateSimBytes(s: SimShape): { bytes: number; group: number; groupBytes: number } {
  const perGroup = new Map<number, number>();
  let bytes = s.ramPages * BYTES_PER_HOST_PAGE;
  for (const v of s.vms) {
    const b =
      (v.memory / PAGE_SIZE) * BYTES_PER_GUEST_PAGE +
      v.vcpus * (BYTES_PER_VCPU + v.workload.tasks_per_vcpu * BYTES_PER_TASK);
    bytes += b;
    perGroup.set(v.group, (perGroup.get(v.group) ?? 0) + b);
  }
  let group = 0;
  let groupBytes = -1;
  for (const [g, b] of perGroup)
    if (b > groupBytes) {
      group = g;
      groupBytes = b;
    }
  return { bytes, group, groupBytes };
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${Number(n.toPrecision(3))} ${units[u]}`;
}

/**
 * Pages a VM can have at all: its per-page state is one typed array, and Node's longest is 2^32 elements
 * (buffer.constants.MAX_LENGTH), so 16 TiB. Not a budget: `--allow-large` does not lift it.
 */
export const MAX_VM_PAGES = 2 ** 32;

/**
 * Throws a ScenarioError (exit 2) when the estimate for `s` is above `budget` bytes (pass Infinity for
 * --allow-large), or when a VM has more pages than the simulator can hold.
 */
export function checkSimResources(s: SimShape, budget: number = DEFAULT_MEMORY_BUDGET): void {
  for (const v of s.vms)
    if (v.memory / PAGE_SIZE > MAX_VM_PAGES)
      throw new ScenarioError(
        s.file,
        `vms[${v.group}].memory`,
        `expected at most 16 TiB per VM (2^32 pages of 4KiB: the simulator keeps a byte per page in one array), got ${formatBytes(v.memory)}`,
      );
  const e = estimateSimBytes(s);
  if (e.bytes <= budget) return;
  const hostShare = s.ramPages * BYTES_PER_HOST_PAGE;
  const field = hostShare > e.groupBytes ? 'host.ram' : `vms[${e.group}].memory`;
  const vms = s.vms.filter((v) => v.group === e.group);
  const what =
    field === 'host.ram'
      ? `${formatBytes(s.ramPages * PAGE_SIZE)} of host RAM`
      : `${formatBytes(vms[0]!.memory)} of guest memory × ${vms.length} VM${vms.length > 1 ? 's' : ''}`;
  throw new ScenarioError(
    s.file,
    field,
    `the simulation would need about ${formatBytes(e.bytes)} of memory (${what}; a byte per 4KiB guest page), above the limit of ${formatBytes(budget)}; lower it or pass --allow-large`,
  );
}
