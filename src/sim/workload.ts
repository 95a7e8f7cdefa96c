// The guest's work: a TaskProgram (src/guest/x86/linux/program.ts) whose tasks loop forever over a
// compute burst followed by page touches chosen by an access pattern. Each task draws from its own named
// stream ("vm:<name>/task<i>"), so adding a task or a VM leaves every other task's draws unchanged.
//
// Pages are addressed by popularity rank: rank r is gfn KERNEL_PAGES + r. The hot set of `hotcold` and
// Zipf's low ranks are therefore the bottom of the working set, which is also the part that is resident
// at start (HostMemory.setInitialResidency): a host that has been running the workload for a while.
// `next` returns one of two preallocated action objects (the guest reads them at once).
import type { TaskAction, TaskProgram } from '../guest/x86/linux/program.ts';
import { gfnToGpa } from '../mem/guest_memory.ts';
import { compileDist, type Dist } from './engine/dist.ts';
import { type Xoshiro128, xoshiro128Stream } from './engine/rng.ts';
import type { HostMemory } from './host_memory.ts';
import type { PatternSpec, WorkloadSpec } from './schema.ts';
import { ZipfSampler } from './zipf.ts';

const P_UNIFORM = 0;
const P_HOTCOLD = 1;
const P_SCAN = 2;
const P_ZIPF = 3;
const P_BERNOULLI = 4;

export interface WorkloadPlace {
  vm: number;
  vmName: string;
  rootSeed: number;
  nTasks: number;
  /** First gfn of the working set. */
  firstGfn: number;
  wsPages: number;
}

export class WorkloadProgram implements TaskProgram {
  private readonly pattern: number;
  private readonly burst: Dist;
  private readonly touches: number;
  private readonly writeFraction: number;
  private readonly p: number;
  private readonly hot: number;
  private readonly hotTouches: number;
  private readonly stride: number;
  private readonly zipf: ZipfSampler | null;
  private readonly rngs: Xoshiro128[] = [];
  /** Touches left after the current burst, per task. */
  private readonly left: Int32Array;
  /** scan / bernoulli: the next rank, per task (each task walks its own slice of the working set). */
  private readonly cursor: Float64Array;
  private readonly sliceStart: Float64Array;
  private readonly sliceLen: Float64Array;
  private readonly computeAction = { kind: 'compute' as const, ns: 0 };
  private readonly touchAction = { kind: 'touch' as const, gpa: 0, write: false, mode: 'user' as const };

  constructor(
    spec: WorkloadSpec,
    private readonly place: WorkloadPlace,
    private readonly host: HostMemory,
  ) {
    const pat: PatternSpec = spec.pattern;
    this.burst = compileDist(spec.burst);
    this.touches = spec.touches_per_burst;
    this.writeFraction = spec.write_fraction;
    const ws = place.wsPages;
    this.pattern = {
      uniform: P_UNIFORM,
      hotcold: P_HOTCOLD,
      scan: P_SCAN,
      zipf: P_ZIPF,
      bernoulli: P_BERNOULLI,
    }[pat.kind];
    this.p = pat.kind === 'bernoulli' ? pat.p : 0;
    this.hot = pat.kind === 'hotcold' ? Math.max(1, Math.min(ws, Math.round(pat.hot_pages * ws))) : ws;
    this.hotTouches = pat.kind === 'hotcold' ? pat.hot_touches : 1;
    this.stride = pat.kind === 'scan' ? pat.stride : 1;
    this.zipf = pat.kind === 'zipf' ? new ZipfSampler(ws, pat.s) : null;
    const n = place.nTasks;
    this.left = new Int32Array(n);
    this.cursor = new Float64Array(n);
    this.sliceStart = new Float64Array(n);
    this.sliceLen = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      this.rngs.push(xoshiro128Stream(place.rootSeed, `vm:${place.vmName}/task${t}`));
      const lo = Math.floor((t * ws) / n);
      const hi = Math.floor(((t + 1) * ws) / n);
      this.sliceStart[t] = lo;
      this.sliceLen[t] = Math.max(1, hi - lo);
    }
  }

  next(task: number, _cpu: number, _pc: number): TaskAction {
    const rng = this.rngs[task]!;
    if (this.left[task]! > 0) {
      this.left[task]!--;
      return this.touch(task, rng);
    }
    this.computeAction.ns = this.burst.sample(rng);
    this.left[task] = this.pattern === P_BERNOULLI ? (rng.next() < this.p ? 1 : 0) : this.touches;
    return this.computeAction;
  }

  private touch(task: number, rng: Xoshiro128): TaskAction {
    const ws = this.place.wsPages;
    let rank: number;
    switch (this.pattern) {
      case P_UNIFORM:
        rank = Math.floor(rng.next() * ws);
        break;
      case P_HOTCOLD: {
        const toHot = rng.next() < this.hotTouches || this.hot >= ws;
        const u = rng.next();
        rank = toHot ? Math.floor(u * this.hot) : this.hot + Math.floor(u * (ws - this.hot));
        break;
      }
      case P_ZIPF:
        rank = this.zipf!.sample(rng) - 1;
        break;
      default: {
        // scan and bernoulli: walk this task's slice
        const c = this.cursor[task]!;
        rank = this.sliceStart[task]! + c;
        this.cursor[task] = (c + this.stride) % this.sliceLen[task]!;
      }
    }
    const gfn = this.place.firstGfn + rank;
    // Calibration: the touched page is always one that needs I/O, as if it had been reclaimed meanwhile.
    if (this.pattern === P_BERNOULLI) this.host.evict(this.place.vm, gfn);
    else this.host.touch(this.place.vm, gfn);
    const a = this.touchAction;
    a.gpa = gfnToGpa(gfn);
    a.write = rng.next() < this.writeFraction;
    if (a.write) this.host.written(this.place.vm, gfn);
    return a;
  }
}
