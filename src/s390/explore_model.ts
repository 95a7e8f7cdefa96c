// The GISA/GIB model behind the explorer's Model<S> contract (src/explore/model.ts): integer step ids over a
// fixed table of every step this world shape can take, fixed-length encodings from codec.ts, and the
// invariants of invariants.ts. Time is abstracted (timers are only "armed"), firmware AIs are bounded by each
// VM's ai_budget, and guest behaviour is "enter SIE, leave SIE, or go idle" with static PSW/CR6 settings.
import type { Model } from '../explore/model.ts';
import { type CodecOptions, decodeInto, encodeInto, stateWords } from './codec.ts';
import { progressViolation, structuralViolation } from './invariants.ts';
import { hex8, hexBits } from './isc.ts';
import { applyStep, type ExploreOptions, enabledSteps, type S390Step } from './steps.ts';
import { type S390World, VCPU_STATE_NAMES } from './world.ts';

const stepKey = (s: S390Step): string =>
  [s.kind, 'vm' in s ? s.vm : '', 'vcpu' in s ? s.vcpu : '', 'isc' in s ? s.isc : ''].join(':');

/** Every step the explorer may enumerate for this world shape, in id order. */
export function stepTable(w: S390World): S390Step[] {
  const out: S390Step[] = [{ kind: 'gal_irq' }, { kind: 'gal_step' }];
  for (const vm of w.vms) {
    for (let isc = 0; isc <= 7; isc++) out.push({ kind: 'firmware_ai', vm: vm.index, isc });
    out.push({ kind: 'kicker_fire', vm: vm.index }, { kind: 'destroy_spin', vm: vm.index });
    for (const v of vm.vcpus)
      for (const kind of ['sie_present', 'ckc_fire', 'enter_sie', 'leave_sie', 'wait', 'resume'] as const)
        out.push({ kind, vm: vm.index, vcpu: v.vcpu_idx });
  }
  return out;
}

/** Builds a Model over copies of `template` (its current state is the initial state). */
export function gisaModel(
  template: S390World,
  opts: { codec?: CodecOptions; explore?: ExploreOptions; name?: string } = {},
): Model<S390World> {
  const codec: CodecOptions = { time: 'armed', ...opts.codec };
  const table = stepTable(template);
  const ids = new Map(table.map((s, i) => [stepKey(s), i]));
  const words = stateWords(template, codec);
  const scratch = new Int32Array(words);
  const fresh = (): S390World => structuredClone({ ...template, events: [] });
  return {
    name:
      opts.name ??
      `s390_gisa(${template.cfg.strategy}, ${template.vms.map((vm) => vm.vcpus.length).join('+')} vCPUs)`,
    stateWords: words,
    stepCount: table.length,
    initial: fresh,
    copy(from, to) {
      encodeInto(from, scratch, codec);
      decodeInto(scratch, 0, to, codec);
      to.now = from.now;
    },
    encode: (s, out) => encodeInto(s, out, codec),
    decode: (w, offset, into) => decodeInto(w, offset, into, codec),
    enabled(s, out) {
      let n = 0;
      for (const step of enabledSteps(s, opts.explore)) out[n++] = ids.get(stepKey(step))!;
      return n;
    },
    apply(s, step) {
      s.events.length = 0;
      const r = applyStep(s, table[step]!);
      return r.result === 'invalid' ? `step not applicable: ${String(r.why)}` : null;
    },
    invariant: (s) => structuralViolation(s) ?? progressViolation(s),
    endState: () => null,
    stepLabel: (step) => {
      const s = table[step]!;
      const vm = 'vm' in s ? template.vms[s.vm]!.name : '';
      const where = 'vcpu' in s ? `${vm}/${s.vcpu}` : vm;
      return [s.kind, where, 'isc' in s ? `isc ${s.isc}` : ''].filter(Boolean).join(' ');
    },
    describe(s) {
      const out: Record<string, string | number | boolean> = {
        alert_list_origin: s.gib ? s.gib.alert_list_origin : -1,
        gal_pending: s.gal_pending,
        walk: s.walk.phase,
      };
      for (const vm of s.vms) {
        out[`${vm.name}.ipm`] = hex8(vm.gisa.ipm);
        out[`${vm.name}.iam`] = hex8(vm.gisa.iam);
        out[`${vm.name}.listed`] = vm.gisa.next_alert !== vm.gisa_addr;
        out[`${vm.name}.timer`] = vm.gi.timer_at >= 0;
        out[`${vm.name}.idle_mask`] = hexBits(vm.idle_mask);
        out[`${vm.name}.kicked_mask`] = hexBits(vm.gi.kicked_mask);
        for (const v of vm.vcpus)
          out[`${vm.name}/${v.vcpu_idx}`] = `${VCPU_STATE_NAMES[v.state]}${v.wakeup_pending ? '+wake' : ''}`;
      }
      return out;
    },
  };
}
