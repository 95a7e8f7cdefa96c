// Turns a parsed sim scenario plus one variant and one seed into what the scheduler runs: the host
// configuration for the model, and every VM replica with its compiled distributions and its own named random
// streams. Stream names depend only on the VM replica, the vCPU or device, and the purpose, so adding a VM,
// a device or a variant never changes the draws of an existing stream (docs/sim-engine.md, named streams).
import { GISA_KICKER_EXPIRES_NS } from '../../abi/s390_gisa.ts';
import { maskOf } from '../../s390/isc.ts';
import type { S390ConfigInput } from '../../s390/strategy.ts';
import { compileDist, type Dist, type DistSpec } from '../engine/dist.ts';
import { type Mulberry32, mulberry32Stream } from '../engine/rng.ts';
import type { S390SimScenario, SimVariant } from './scenario.ts';

/** Defaults for the host timings: an interrupt entry of a few µs and a sub-µs list micro-step. */
export const DEFAULT_GAL_LATENCY: DistSpec = { dist: 'constant', value: 2_000 };
export const DEFAULT_WALK_STEP_NS = 200;

export interface SimDevice {
  readonly isc: number;
  readonly interval: Dist;
  readonly burstCount: number;
  readonly burstGap: number;
  readonly rng: Mulberry32;
}

export interface SimVcpu {
  /** The ISC byte the guest loads into CR6. */
  readonly cr6: number;
  /** Guest behaviour: SIE slices and wait timers. */
  readonly guest: Mulberry32;
  /** Wake-up latency draws. */
  readonly wake: Mulberry32;
}

export interface SimVm {
  readonly name: string;
  readonly run: Dist;
  readonly idle: Dist | null;
  readonly wake: Dist;
  readonly vcpus: readonly SimVcpu[];
  readonly devices: readonly SimDevice[];
  /** The ISCs registered with kvm_s390_gisc_register: one registration per device. */
  readonly gisc: readonly number[];
}

export interface SimSetup {
  readonly variant: string;
  readonly seed: number;
  readonly duration: number;
  readonly config: S390ConfigInput;
  readonly galLatency: Dist;
  readonly galRng: Mulberry32;
  readonly walkStep: number;
  readonly vms: readonly SimVm[];
}

/** The variant record for a scenario without `variants:` (named after its strategy). */
export function defaultVariant(s: S390SimScenario): SimVariant {
  return { name: s.strategy ?? 'current' };
}

export function buildSetup(s: S390SimScenario, variant: SimVariant, seed: number): SimSetup {
  const stream = (name: string): Mulberry32 => mulberry32Stream(seed, name);
  const host = { ...s.host, ...variant.host };
  const vms: SimVm[] = [];
  for (const spec of s.vms) {
    const replicas = spec.count ?? 1;
    const run = compileDist(spec.run);
    const idle = spec.idle ? compileDist(spec.idle) : null;
    const wake = compileDist(variant.wake_latency ?? spec.wake_latency);
    const deviceIscs = [...new Set(spec.devices.map((d) => d.isc))];
    for (let r = 0; r < replicas; r++) {
      const name = spec.count === undefined ? spec.name : `${spec.name}${r}`;
      vms.push({
        name,
        run,
        idle,
        wake,
        vcpus: Array.from({ length: spec.vcpus }, (_, c) => ({
          cr6: maskOf(spec.cr6?.[c] ?? deviceIscs),
          guest: stream(`vm:${name}/vcpu:${c}`),
          wake: stream(`vm:${name}/vcpu:${c}/wake`),
        })),
        devices: spec.devices.map((d, j) => ({
          isc: d.isc,
          interval: compileDist(d.interval),
          burstCount: d.burst?.count ?? 1,
          burstGap: d.burst?.gap ?? 0,
          rng: stream(`vm:${name}/dev:${j}`),
        })),
        gisc: spec.devices.map((d) => d.isc),
      });
    }
  }
  const strategy = variant.strategy ?? s.strategy ?? 'current';
  return {
    variant: variant.name,
    seed,
    duration: s.duration,
    config: {
      strategy,
      fixes: { ...s.fixes, ...variant.fixes },
      alert_walk: host.alert_walk,
      expires_ns: host.expires ?? GISA_KICKER_EXPIRES_NS,
    },
    galLatency: compileDist(host.gal_latency ?? DEFAULT_GAL_LATENCY),
    galRng: stream('host/gal'),
    walkStep: host.walk_step ?? DEFAULT_WALK_STEP_NS,
    vms,
  };
}
