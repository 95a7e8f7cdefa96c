// The GISA/GIB model behind the explorer's Model<S> contract (src/explore/model.ts): integer step ids over the
// fixed step layout of this world shape (src/s390/steps.ts), fixed-length encodings from src/s390/codec.ts,
// and the properties of src/s390/invariants.ts. Time is abstracted (timers are only "armed"), firmware AIs
// are bounded by each VM's ai_budget, and guest behaviour is "enter SIE, leave SIE, or go idle" with static
// PSW/CR6 settings.
//
// The working states are ordinary worlds with tracing off; every step runs the model's own applyStep. What
// makes it fast is that nothing on the per-transition path allocates or builds strings: enabledStepIds writes
// ids into the engine's buffer, the codec is closure-free, and the checker reuses its scratch state.

import { originName, sie_page2_freed } from '../../s390/alert_list.ts';
import { type CodecOptions, cloneWorld, decodeInto, encodeInto, stateWords } from '../../s390/codec.ts';
import { PROPERTIES, type PropertyName, S390Checker } from '../../s390/invariants.ts';
import { hex8, hexBits } from '../../s390/isc.ts';
import {
  applyStep,
  type ExploreOptions,
  enabledStepIds,
  type S390Step,
  stepLayout,
} from '../../s390/steps.ts';
import {
  DESTROY_NAMES,
  type S390World,
  UAF_KICK,
  UAF_UNLINK,
  VCPU_STATE_NAMES,
  vmByGisa,
  WALK_KICK,
} from '../../s390/world.ts';
import type { Model } from '../model.ts';

const WALK_PHASES = ['idle', 'xchg next', 'unlink next', 'kick next'];

/** What a walk did to a freed sie_page2 (VmState.walk_uaf). */
function walkAfterFreeName(uaf: number): string {
  const parts: string[] = [];
  if (uaf & UAF_UNLINK) parts.push('next_alert read+written');
  if (uaf & UAF_KICK) parts.push('->kvm read, kicker started');
  return parts.join('; ');
}

/** The walk's phase; in the KICK phase with the VM whose sie_page2 it reads next. */
function walkName(s: S390World): string {
  const phase = WALK_PHASES[s.walk.phase] ?? String(s.walk.phase);
  if (s.walk.phase !== WALK_KICK) return phase;
  const vm = vmByGisa(s, s.walk.cur);
  return vm ? `kick ${vm.name} next` : phase;
}

export interface GisaModelOptions {
  /**
   * The codec. Default: timers as "armed" and classic lists of capacity 0 — the explorer's steps never queue
   * classic interruptions, and an entry would make encoding throw rather than be silently dropped.
   */
  codec?: CodecOptions;
  explore?: ExploreOptions;
  /** The properties to check (default all of them). */
  check?: readonly PropertyName[];
  name?: string;
}

/** Every step the explorer may enumerate for this world shape, in id order. */
export const stepTable = (w: S390World): readonly S390Step[] => stepLayout(w).table;

/** Builds a Model over copies of `template` (its current state is the initial state). */
export function gisaModel(template: S390World, opts: GisaModelOptions = {}): Model<S390World> {
  const codec: CodecOptions = { classicCap: 0, ...opts.codec, time: 'armed' };
  const layout = stepLayout(template);
  const table = layout.table;
  const words = stateWords(template, codec);
  const scratch = new Int32Array(words);
  const checker = new S390Checker(template, opts.check ?? PROPERTIES, codec);
  const explore = opts.explore ?? {};
  // Where the engine last decoded a state from: copying that state again decodes the same words instead of
  // re-encoding it (BFS copies each expanded state once per enabled step). Stored encodings never change, so
  // this is valid until the world is mutated by a step or overwritten.
  let srcWorld: S390World | null = null;
  let srcWords: Int32Array = scratch;
  let srcOffset = 0;
  const fresh = (): S390World => {
    const w = cloneWorld(template);
    w.tracing = false;
    return w;
  };
  return {
    name:
      opts.name ??
      `s390_gisa(${template.cfg.strategy}, ${template.vms.map((vm) => vm.vcpus.length).join('+')} vCPUs)`,
    stateWords: words,
    stepCount: table.length,
    initial: fresh,
    copy(from, to) {
      if (from === to) return;
      to.now = from.now;
      if (from === srcWorld) decodeInto(srcWords, srcOffset, to, codec);
      else {
        encodeInto(from, scratch, codec);
        decodeInto(scratch, 0, to, codec);
      }
      if (to === srcWorld) srcWorld = null;
    },
    encode: (s, out) => {
      encodeInto(s, out, codec);
    },
    decode(words, offset, into) {
      decodeInto(words, offset, into, codec);
      srcWorld = into;
      srcWords = words;
      srcOffset = offset;
    },
    enabled: (s, out) => enabledStepIds(s, layout, out, explore),
    apply(s, step) {
      if (s === srcWorld) srcWorld = null;
      const r = applyStep(s, table[step]!);
      return r.result === 'invalid' ? `step not applicable: ${String(r.why)}` : null;
    },
    invariant: (s) => checker.check(s),
    endState: () => null,
    stepLabel: (step) => {
      const s = table[step]!;
      const vm = 'vm' in s ? template.vms[s.vm]!.name : '';
      const where = 'vcpu' in s ? `${vm}/${s.vcpu}` : vm;
      return [s.kind, where, 'isc' in s ? `isc ${s.isc}` : ''].filter(Boolean).join(' ');
    },
    describe(s) {
      const out: Record<string, string | number | boolean> = {
        alert_list_origin: s.gib ? originName(s, s.gib.alert_list_origin) : 'no GIB',
        gal_pending: s.gal_pending,
        walk: walkName(s),
      };
      for (const vm of s.vms) {
        out[`${vm.name}.ipm`] = hex8(vm.gisa.ipm);
        out[`${vm.name}.iam`] = hex8(vm.gisa.iam);
        out[`${vm.name}.listed`] = vm.gisa.next_alert !== vm.gisa_addr;
        out[`${vm.name}.timer`] = vm.gi.timer_at >= 0;
        out[`${vm.name}.idle_mask`] = hexBits(vm.idle_mask);
        out[`${vm.name}.kicked_mask`] = hexBits(vm.gi.kicked_mask);
        out[`${vm.name}.destroy`] = sie_page2_freed(vm)
          ? 'done (sie_page2 freed)'
          : (DESTROY_NAMES[vm.destroy] ?? vm.destroy);
        // Only once it happened, so traces without it read as before.
        if (vm.walk_uaf !== 0) out[`${vm.name}.walk_after_free`] = walkAfterFreeName(vm.walk_uaf);
        for (const v of vm.vcpus)
          out[`${vm.name}/${v.vcpu_idx}`] = `${VCPU_STATE_NAMES[v.state]}${v.wakeup_pending ? '+wake' : ''}`;
      }
      return out;
    },
  };
}
