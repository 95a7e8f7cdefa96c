// `kind: script`, `arch: s390` scenarios: parse (zod + reference checks, one-line ScenarioErrors) and run into
// a transcript — one plain object per op, `{"op":N,"kind":…,"result":…}` plus details, optionally followed by
// the op's events. After each op the hardware settles (H2 presentations, a pre-6.6 destroy noticing its GISA
// got unlinked). Time only moves in `advance`, so nothing else in a transcript depends on time.
import { KVM_S390_IRQ_SIZE } from '../abi/s390_gisa.ts';
import { hex8, hex32, maskOf } from '../s390/isc.ts';
import { advance, applyStep, type S390Step, type StepOutcome, settle } from '../s390/steps.ts';
import { kvm_arch_init_vm } from '../s390/vm.ts';
import { createWorld, type S390Event, type S390World, WALK_IDLE } from '../s390/world.ts';
import { validateScenario } from '../scenario/load.ts';
import { ScenarioError } from '../scenario/scenario_error.ts';
import { checkExpect } from './s390_expect.ts';
import {
  type ExpectOp,
  type S390Script,
  type S390ScriptOp,
  s390ScriptSchema,
  VCPU_EXPECT_FIELDS,
  VM_EXPECT_FIELDS,
} from './s390_schema.ts';

export type { S390Script } from './s390_schema.ts';
export type TranscriptLine = Record<string, unknown>;

/** Validates a parsed YAML/JSON value as an s390 script; every error is a one-line ScenarioError. */
export function parseS390Script(raw: unknown, file: string): S390Script {
  const s = validateScenario(file, raw, s390ScriptSchema);
  checkReferences(s, file);
  return s;
}

/** Cross-field rules zod cannot see: VM names exist before use, vCPU indexes are in range, one-of fields. */
function checkReferences(s: S390Script, file: string): void {
  const vcpuCount = new Map<string, number>();
  const fail = (field: string, msg: string): never => {
    throw new ScenarioError(file, field, msg);
  };
  s.ops.forEach((op, i) => {
    const at = `ops[${i}]`;
    if (op.op === 'create_vm') {
      if (vcpuCount.has(op.vm)) fail(`${at}.vm`, `VM "${op.vm}" is created twice`);
      if (op.vcpus !== undefined && op.vcpu_ids !== undefined) fail(at, 'give vcpus or vcpu_ids, not both');
      const ids = op.vcpu_ids ?? [];
      if (new Set(ids).size !== ids.length) fail(`${at}.vcpu_ids`, 'vCPU ids must be distinct');
      vcpuCount.set(op.vm, op.vcpu_ids?.length ?? op.vcpus ?? 1);
      return;
    }
    const vm = 'vm' in op ? op.vm : undefined;
    const vcpu = 'vcpu' in op ? op.vcpu : undefined;
    if (vm !== undefined && !vcpuCount.has(vm)) {
      const known = [...vcpuCount.keys()].map((k) => JSON.stringify(k)).join(', ') || 'none';
      fail(`${at}.vm`, `unknown VM "${vm}" (create_vm it first; known: ${known})`);
    }
    if (vm !== undefined && vcpu !== undefined && vcpu >= vcpuCount.get(vm)!)
      fail(`${at}.vcpu`, `expected a vCPU index 0..${vcpuCount.get(vm)! - 1}`);
    if (op.op === 'expect') checkExpectShape(op, at, fail);
    if (op.op === 'set_cr6' && (op.iscs === undefined) === (op.mask === undefined))
      fail(at, 'give iscs or mask (exactly one)');
    if (op.op === 'tpi' && op.iscs !== undefined && op.mask !== undefined)
      fail(at, 'give iscs or mask, not both');
    if (op.op === 'migrate_read' && (op.records === undefined) === (op.len === undefined))
      fail(at, 'give records or len (exactly one)');
  });
}

function checkExpectShape(op: ExpectOp, at: string, fail: (f: string, m: string) => never): void {
  const has = (k: string) => (op as Record<string, unknown>)[k] !== undefined;
  if (op.vcpu !== undefined && op.vm === undefined) fail(`${at}.vcpu`, 'a vCPU expectation needs vm');
  for (const k of VM_EXPECT_FIELDS)
    if (has(k) && op.vm === undefined) fail(`${at}.${k}`, 'this expectation needs vm');
  for (const k of VCPU_EXPECT_FIELDS)
    if (has(k) && op.vcpu === undefined) fail(`${at}.${k}`, 'this expectation needs vcpu');
}

/** The op's own fields, echoed into its transcript line (masks as hex). */
function echo(op: S390ScriptOp): TranscriptLine {
  if (op.op === 'expect') return { vm: op.vm, vcpu: op.vcpu, note: op.note };
  const out: TranscriptLine = {};
  for (const [k, v] of Object.entries(op)) {
    if (k === 'op' || v === undefined) continue;
    if (k === 'mask' && typeof v === 'number') out[k] = hex8(v);
    else if ((k === 'schid' || k === 'io_int_parm') && typeof v === 'number') out[k] = hex32(v);
    else out[k] = v;
  }
  return out;
}

const CKC: Record<string, number> = { off: -1, expired: 0 };

/** Runs the interrupt-context walk of process_gib_alert_list, optionally stopping right after an xchg. */
function runWalk(w: S390World, stopAfterXchg?: number): StepOutcome {
  let stopped = false;
  while (w.walk.phase !== WALK_IDLE) {
    const before = w.walk.xchgs;
    applyStep(w, { kind: 'gal_step' });
    if (stopAfterXchg !== undefined && w.walk.xchgs !== before && w.walk.xchgs >= stopAfterXchg) {
      stopped = w.walk.phase !== WALK_IDLE;
      break;
    }
  }
  return { result: 'ok', xchgs: w.walk.xchgs, ...(stopped ? { stopped: true } : {}) };
}

function toStep(op: S390ScriptOp, vm: number): S390Step | null {
  switch (op.op) {
    case 'gisc_register':
    case 'gisc_unregister':
      return { kind: op.op, vm, gisc: op.gisc };
    case 'firmware_ai':
      return { kind: op.op, vm, isc: op.isc };
    case 'inject_io':
      return {
        kind: op.op,
        vm,
        io: {
          ai: op.ai ?? true,
          isc: op.isc,
          subchannel_id: op.subchannel_id ?? 0,
          subchannel_nr: op.subchannel_nr ?? 0,
          io_int_parm: op.io_int_parm ?? 0,
        },
      };
    case 'enter_sie':
    case 'leave_sie':
    case 'wait':
    case 'resume':
    case 'deliver':
      return { kind: op.op, vm, vcpu: op.vcpu };
    case 'set_psw':
      return { kind: op.op, vm, vcpu: op.vcpu, io: op.io, ext: op.ext, mchk: op.mchk };
    case 'set_cr6':
      return { kind: op.op, vm, vcpu: op.vcpu, mask: op.mask ?? maskOf(op.iscs ?? []) };
    case 'set_ckc':
      return { kind: op.op, vm, vcpu: op.vcpu, ns: typeof op.ckc === 'number' ? op.ckc : CKC[op.ckc]! };
    case 'tpi':
      return {
        kind: op.op,
        vm,
        isc_mask: op.mask ?? (op.iscs ? maskOf(op.iscs) : 0xff),
        schid: op.schid ?? 0,
        alloc_fail: op.alloc_fail,
      };
    case 'migrate_read':
      return { kind: op.op, vm, len: op.len ?? (op.records ?? 0) * KVM_S390_IRQ_SIZE };
    case 'clear':
    case 'destroy':
    case 'gisa_enable':
    case 'gisa_disable':
      return { kind: op.op, vm };
    default:
      return null;
  }
}

function runOp(w: S390World, op: S390ScriptOp, names: Map<string, number>): StepOutcome {
  switch (op.op) {
    case 'gib_init':
      return applyStep(w, { kind: 'gib_init', fault: op.fault });
    case 'gib_destroy':
      return applyStep(w, { kind: 'gib_destroy' });
    case 'create_vm': {
      if (!w.kvm_loaded) return { result: 'invalid', why: 'kvm is not loaded (gib_init failed)' };
      const ids = op.vcpu_ids ?? Array.from({ length: op.vcpus ?? 1 }, (_, i) => i);
      const vm = kvm_arch_init_vm(w, op.vm, ids);
      names.set(op.vm, vm.index);
      return { result: 'ok', origin: vm.gi.origin ? hex32(vm.gi.origin) : 'NULL', vcpu_ids: ids };
    }
    case 'advance': {
      const fired = advance(w, op.ns);
      return {
        result: 'ok',
        now: w.now,
        fired: fired.map((f) => ({ t: f.t, timer: f.timer, ...f.outcome })),
      };
    }
    case 'gal_irq': {
      const r = applyStep(w, { kind: 'gal_irq' });
      return r.result === 'ok' ? runWalk(w, op.stop_after_xchg) : r;
    }
    case 'gal_resume':
      if (w.walk.phase === WALK_IDLE)
        return { result: 'invalid', why: 'process_gib_alert_list is not running' };
      return runWalk(w, op.stop_after_xchg);
    case 'expect': {
      const vm = op.vm !== undefined ? w.vms[names.get(op.vm) ?? -1] : undefined;
      if (op.vm !== undefined && !vm) return { result: 'invalid', why: `VM "${op.vm}" was not created` };
      const diffs = checkExpect(w, op, vm, op.vcpu !== undefined ? vm?.vcpus[op.vcpu] : undefined);
      return diffs.length ? { result: 'mismatch', diffs } : { result: 'ok' };
    }
    default: {
      const index = names.get(op.vm);
      if (index === undefined) return { result: 'invalid', why: `VM "${op.vm}" was not created` };
      const step = toStep(op, index);
      return step ? applyStep(w, step) : { result: 'invalid', why: `unknown op ${op.op}` };
    }
  }
}

/** Facts every transcript line carries when they happened during the op (plus settling). */
function summarize(events: readonly S390Event[]): TranscriptLine {
  const out: TranscriptLine = {};
  const woken = events.filter((e) => e.event === 'wakeup' && e.sleeping).map((e) => e.vcpu);
  const presented = events
    .filter((e) => e.event === 'sie_present')
    .map((e) => ({ vcpu: e.vcpu, isc: e.isc }));
  const destroyed = events.filter((e) => e.event === 'gisa_destroyed').map((e) => e.vm);
  if (woken.length) out.woken = woken;
  if (presented.length) out.presented = presented;
  if (destroyed.length) out.gisa_destroyed = destroyed;
  return out;
}

/** Runs a validated script. With traceEvents, each op line is followed by its events in order. */
export function runS390Script(scenario: S390Script, opts: { traceEvents?: boolean } = {}): TranscriptLine[] {
  const w = createWorld({
    strategy: scenario.strategy,
    fixes: scenario.fixes,
    floating_kick: scenario.floating_kick,
    ...scenario.host,
  });
  const names = new Map<string, number>();
  const out: TranscriptLine[] = [];
  const record = (n: number, kind: string, fields: TranscriptLine, outcome: StepOutcome) => {
    settle(w);
    const { result, ...details } = outcome;
    const line: TranscriptLine = { op: n, kind, ...fields, result, ...details, ...summarize(w.events) };
    if (fields.want !== undefined && fields.want !== result) line.mismatch = true;
    out.push(line);
    if (opts.traceEvents) out.push(...w.events.map((e) => ({ ...e })));
    w.events.length = 0;
  };
  if (scenario.ops[0]!.op !== 'gib_init')
    record(0, 'gib_init', { implicit: true }, applyStep(w, { kind: 'gib_init' }));
  scenario.ops.forEach((op, i) => {
    record(i + 1, op.op, echo(op), runOp(w, op, names));
  });
  return out;
}

/**
 * True when a transcript has a failed `expect`, an op whose result differs from its `want`, or an op that did
 * not apply (result "invalid") without `want: invalid`.
 */
export const transcriptHasFailures = (lines: readonly TranscriptLine[]): boolean =>
  lines.some(
    (l) => l.result === 'mismatch' || l.mismatch === true || (l.result === 'invalid' && l.want !== 'invalid'),
  );
