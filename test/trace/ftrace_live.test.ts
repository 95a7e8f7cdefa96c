// Live: kvmsim's ftrace text against the kernel's own. A handful of scripts run on this machine's
// /dev/kvm (in worker processes under the backend's watchdog, src/oracle/backend.ts) while a private
// tracefs instance records the async-PF tracepoints of this process and its children; the instance's
// `trace` file is then compared, byte for byte after the masks below, with what `kvmsim script
// --ftrace` writes for the same script. Skipped with the reason where /dev/kvm, root or tracefs is
// missing. The instance (and the tracefs mount this test makes) is removed afterwards, whatever
// happens.
//
// Masks (each replaces a field's bytes by a fixed placeholder, in both texts):
// - TASK-PID: the host's thread names and pids (the backend's vCPU threads are Node threads, not QEMU's
//   `CPU n/KVM`); what the model prints there is checked by test/trace/writers.test.ts.
// - CPU#: which host CPU the scheduler ran the thread on.
// - the latency flags: the host CPU's irq/preempt state at the event, which the model does not have.
// - TIMESTAMP: wall-clock time on the host; the model's is virtual.
// - #P: the host's CPU count.
// Left out: kvm_async_pf_completed, which a kworker prints (its pid is no child of this process, so
// the pid filter that keeps other processes' KVM use on this shared host out of the capture drops it).
// Everything else — the header, the entries count, the event names, their order and their printk text
// (tokens, gvas, gfns) — must match.
//
// The second group enables, in a second instance, the exit, injection and MSR events the model has too
// (`--events`, src/host/x86/trace.ts) and compares the scripts that exercise them. More masks there:
// - kvm_msr lines of MSRs outside KVM's PV range 0x4b564d00-0x4b564dff are left out of both texts. The
//   oracle's guest enables the APIC and sends EOIs by its own instruction sequences (it reads
//   IA32_APIC_BASE before writing it, and EOIs a second time after the ACK), and an instruction the
//   kernel emulates (kvm_emulate_insn) reaches the MSR code without the kvm_msr tracepoint; the model's
//   bare guest writes those MSRs once each. The PV MSRs are the script's own WRMSRs and the handler's ACK.
// - `kvm_inj_exception: #UD` is left out of the kernel's text: the oracle's long-mode guest returns from
//   a CPL 3 access with `ud2` (docs/oracle.md); the model's guest returns without an instruction.
// - kvm_exit and kvm_entry are left out of the line-by-line comparison: the oracle's guest exits for its
//   own reasons (its MMIO reports, its APIC-enable and EOI sequences, instructions the kernel emulates),
//   and rip, info2 and requests hold what the model does not have (it prints 0). Where the kernel fires
//   them, their layout is compared instead: every kernel line, with its reason and hex values masked,
//   must have the shape of a model line. kvm_pvm (this project's reference host) fires neither.
// - kvm_inj_virq and kvm_hypercall are compared only when the kernel traces them at all: kvm_pvm fires
//   neither, so with none in the kernel's text they are left out of the model's too (a diagnostic says
//   so). All formats are checked against the kernel's format strings in test/trace/kvm_events.test.ts.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { KVM_EVENT_NAMES } from '../../src/host/x86/trace.ts';
import { runScriptsOnKvm } from '../../src/oracle/backend.ts';
import { readScenarioFile, validateScenario } from '../../src/scenario/load.ts';
import { runScript } from '../../src/script/runner.ts';
import { ScriptSchema } from '../../src/script/schema.ts';
import { parseEvents } from '../../src/trace/events_filter.ts';
import { ftraceText } from '../../src/trace/ftrace.ts';
import { liveSkipReason } from '../oracle/live_gate.ts';

const EXAMPLES = join(import.meta.dirname, '../../examples');
const SCRIPTS = [
  'apf-basic.yaml',
  'oracle/apf-two-pages.yaml',
  'oracle/apf-noclear.yaml',
  'oracle/apf-pfnowait.yaml',
];
const EVENTS = [
  'kvm_try_async_get_page',
  'kvm_async_pf_repeated_fault',
  'kvm_async_pf_not_present',
  'kvm_async_pf_ready',
  'kvm_async_pf_completed',
];

function tracefsSkip(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (tracefs)';
  if (!readFileSync('/proc/filesystems', 'utf8').includes('tracefs')) return 'tracefs is not available';
  return null;
}

const skip: string | false = tracefsSkip() ?? (await liveSkipReason()) ?? false;

/** The tracefs mount (ours) and the instance, while they exist. */
let mountDir: string | null = null;
let instance: string | null = null;

function put(file: string, text: string): void {
  writeFileSync(join(instance!, file), text);
}

before(() => {
  if (skip) return;
  mountDir = mkdtempSync(join(tmpdir(), 'kvmsim-tracefs-'));
  execFileSync('mount', ['-t', 'tracefs', 'nodev', mountDir]);
  instance = join(mountDir, 'instances', `kvmsim-ftrace-${process.pid}`);
  execFileSync('mkdir', [instance]);
  // This process and whatever it forks (the backend's workers and their threads) only.
  put('options/event-fork', '1');
  put('set_event_pid', String(process.pid));
  for (const e of EVENTS) put(`events/kvm/${e}/enable`, '1');
});

after(() => {
  if (instance !== null && existsSync(instance)) {
    try {
      put('events/enable', '0');
    } catch {}
    rmdirSync(instance);
  }
  if (mountDir !== null) {
    execFileSync('umount', [mountDir]);
    rmdirSync(mountDir);
  }
});

/** A `trace` file with the masked fields replaced (see the file's comment). */
function masked(text: string): string {
  return text
    .replace(/(#P:)\d+/, '$1N')
    .replace(
      /^ *(.{1,16})-(\d+) +\[\d{3}\] (.{5}) +\d+\.\d{6}: /gm,
      '                TASK-PID     [CPU] flags     SECS.USECS: ',
    );
}

/** The lines without the worker's completions, with the header recounted. */
function withoutCompletions(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  return ftraceText(
    lines.filter((l) => !/: kvm_async_pf_completed: /.test(l)),
    1,
  );
}

for (const name of SCRIPTS)
  test(`live ftrace: ${name} — the kernel's trace file and kvmsim's, byte for byte after the masks`, {
    skip,
  }, async () => {
    const file = join(EXAMPLES, name);
    const script = validateScenario(file, readScenarioFile(file, { bigint: true }), ScriptSchema);
    put('trace', ''); // clears the buffer
    const [r] = await runScriptsOnKvm([{ script }]);
    assert.equal(r!.status, 'ok', 'reason' in r! ? r!.reason : '');
    const kernel = readFileSync(join(instance!, 'trace'), 'utf8');
    if (process.env.KVMSIM_SHOW_TRACE) process.stderr.write(kernel);
    const model = ftraceText(runScript(script, { ftrace: true }).ftrace, script.vm.vcpus);
    assert.ok(/kvm_async_pf_not_present/.test(model), `${name}: the model traces an async PF`);
    assert.match(
      kernel,
      /: kvm_async_pf_not_present: token 0x[0-9a-f]+ gva 0x/,
      `${name}: the kernel did too`,
    );
    assert.equal(masked(withoutCompletions(kernel)), masked(withoutCompletions(model)));
  });

// ---- The exit, injection, MSR and CPUID events (the second group; masks in the file's comment) ----

const KVM_SCRIPTS = [...SCRIPTS, 'peer/kvm-pv-test-cpuid.yaml', 'peer/kvm-pv-test-hcall.yaml'];
/** Events kvm_pvm does not fire: compared only when the kernel's text has one. */
const MAYBE_SILENT = ['kvm_inj_virq', 'kvm_hypercall'];
/** Events compared by their layout only (see the masks). */
const SHAPE_ONLY = new Set(['kvm_exit', 'kvm_entry']);

/** The event and printk text of kvm_exit/kvm_entry lines with the reason and every hex value masked. */
const shapes = (lines: readonly string[]): Set<string> =>
  new Set(
    lines
      .map((l) => /: (kvm_exit|kvm_entry): (.*)$/.exec(l))
      .filter((m) => m !== null)
      .map((m) => `${m[1]}: ${m[2]!.replace(/reason \S+/, 'reason R').replace(/0x[0-9a-f]+/g, '0xN')}`),
  );

/** The event lines of a `trace` file (no header). */
const eventLines = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

/** kvm_msr of an MSR outside KVM's PV range (see the masks). */
const nonPvMsr = (l: string): boolean => {
  const m = /: kvm_msr: msr_(?:read|write) ([0-9a-f]+) /.exec(l);
  return m !== null && (Number.parseInt(m[1]!, 16) & ~0xff) >>> 0 !== 0x4b564d00;
};

/** `lines` with the second group's masks, as a whole `trace` file. */
function kvmMasked(lines: readonly string[], silent: ReadonlySet<string>): string {
  const kept = lines.filter((l) => {
    const ev = /: ([a-z_0-9]+): /.exec(l)?.[1] ?? '';
    if (ev === 'kvm_async_pf_completed' || silent.has(ev) || SHAPE_ONLY.has(ev)) return false;
    return !nonPvMsr(l) && !/: kvm_inj_exception: #UD$/.test(l);
  });
  return masked(ftraceText(kept, 1));
}

for (const name of KVM_SCRIPTS)
  test(`live ftrace, exit/injection/MSR events: ${name} — byte for byte after the masks`, {
    skip,
  }, async (t) => {
    const file = join(EXAMPLES, name);
    const script = validateScenario(file, readScenarioFile(file, { bigint: true }), ScriptSchema);
    for (const e of KVM_EVENT_NAMES) put(`events/kvm/${e}/enable`, '1');
    try {
      put('trace', '');
      const [r] = await runScriptsOnKvm([{ script }]);
      if (r!.status === 'skipped') {
        t.skip(`the kernel backend skips it here: ${r!.reason}`);
        return;
      }
      assert.equal(r!.status, 'ok', 'reason' in r! ? r!.reason : '');
      const kernel = eventLines(readFileSync(join(instance!, 'trace'), 'utf8'));
      if (process.env.KVMSIM_SHOW_TRACE) process.stderr.write(`${kernel.join('\n')}\n`);
      const events = parseEvents('--events', [...EVENTS, ...KVM_EVENT_NAMES].join(','));
      const model = runScript(script, { ftrace: true, events }).ftrace;
      const fired = (e: string) => kernel.some((l) => l.includes(`: ${e}: `));
      const silent = new Set(MAYBE_SILENT.filter((e) => !fired(e)));
      if (silent.size > 0) t.diagnostic(`the kernel fires none of ${[...silent].join(', ')}: not compared`);
      const modelShapes = shapes(model);
      for (const sh of shapes(kernel))
        assert.ok(modelShapes.has(sh), `the kernel's ${sh} has no model line of its shape`);
      if (![...SHAPE_ONLY].some(fired))
        t.diagnostic('the kernel fires neither kvm_exit nor kvm_entry: no layout compared');
      const compared = kvmMasked(kernel, silent);
      assert.match(
        compared,
        /: kvm_(inj_exception|msr|cpuid|apic_accept_irq): /,
        `${name}: a new event compared`,
      );
      assert.equal(compared, kvmMasked(model, silent));
    } finally {
      for (const e of KVM_EVENT_NAMES) put(`events/kvm/${e}/enable`, '0');
    }
  });
