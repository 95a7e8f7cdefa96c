// The exit, injection and MSR tracepoints (src/host/x86/trace.ts TP_KVM_EXIT…): their printk text
// against the 6.18 kernel's own format strings, the `--events` filter that opts in to them, their
// instants in the Chrome JSON (checked by the Trace Event Format checker), and that tracing them changes
// nothing in the run.
//
// The format strings below are the `print fmt` lines of events/kvm/<event>/format on a 6.18.44 host
// (kvm_pvm; the same text as TP_printk in arch/x86/kvm/trace.h of the 6.18 tree), with their arguments
// as the kernel computes them from the fields. `printf` is a small C printf, so the model's text is
// compared with what the kernel's format string makes of the same values, width and padding included.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  EXIT_REASON_APIC_ACCESS,
  EXIT_REASON_EPT_VIOLATION,
  EXIT_REASON_EXTERNAL_INTERRUPT,
  EXIT_REASON_HLT,
  EXIT_REASON_MSR_WRITE,
  formatKvmEvent,
  TP_KVM_APIC_ACCEPT_IRQ,
  TP_KVM_CPUID,
  TP_KVM_ENTRY,
  TP_KVM_EXIT,
  TP_KVM_HYPERCALL,
  TP_KVM_INJ_EXCEPTION,
  TP_KVM_INJ_VIRQ,
  TP_KVM_MSR,
} from '../../src/host/x86/trace.ts';
import { readScenarioFile, validateScenario } from '../../src/scenario/load.ts';
import { UsageError } from '../../src/scenario/usage_error.ts';
import { runScript } from '../../src/script/runner.ts';
import { ScriptSchema } from '../../src/script/schema.ts';
import { loadSimScenario } from '../../src/sim/load_sim.ts';
import { runSimulation } from '../../src/sim/run.ts';
import { SimTrace } from '../../src/sim/sim_trace.ts';
import { ChromeTraceWriter } from '../../src/trace/chrome.ts';
import { parseEvents } from '../../src/trace/events_filter.ts';
import { FtraceWriter } from '../../src/trace/ftrace.ts';
import { checkTraceText, formatCheckReport } from '../../src/trace/trace_check.ts';

/** C printf for the conversions the kvm formats use: %u %d %x %s, with 0-padding, width, l/ll. */
function printf(fmt: string, ...args: (number | bigint | string)[]): string {
  let i = 0;
  return fmt.replace(/%(0?)(\d*)(l{0,2})([udxs%])/g, (_m, zero: string, width: string, _l, conv: string) => {
    if (conv === '%') return '%';
    const v = args[i++]!;
    let s: string;
    if (conv === 's') s = String(v);
    else if (conv === 'x')
      s = (typeof v === 'bigint' ? BigInt.asUintN(64, v) : BigInt(Number(v) >>> 0)).toString(16);
    else if (conv === 'u') s = String(typeof v === 'bigint' ? v : Number(v) >>> 0);
    else s = String(v);
    return s.padStart(Number(width || 0), zero === '0' ? '0' : ' ');
  });
}

// The kernel's format strings (print fmt, 6.18).
const KVM_EXIT_FMT =
  'vcpu %u reason %s%s%s rip 0x%lx info1 0x%016llx info2 0x%016llx intr_info 0x%08x error_code 0x%08x requests 0x%016llx';
const KVM_ENTRY_FMT = 'vcpu %u, rip 0x%lx intr_info 0x%08x error_code 0x%08x%s';
const KVM_INJ_EXCEPTION_FMT = '%s%s%s%s%s';
const KVM_INJ_VIRQ_FMT = '%s 0x%x%s';
const KVM_APIC_ACCEPT_IRQ_FMT = 'apicid %x vec %u (%s|%s)';
const KVM_MSR_FMT = 'msr_%s %x = 0x%llx%s';
const KVM_HYPERCALL_FMT = 'nr 0x%lx a0 0x%lx a1 0x%lx a2 0x%lx a3 0x%lx';
const KVM_CPUID_FMT = 'func %x idx %x rax %lx rbx %lx rcx %lx rdx %lx, cpuid entry %s%s';

test('kvm_exit: VMX reason names, 16-digit info fields; rip, info2, error_code and requests are 0', () => {
  const cases: [number, string, number, number][] = [
    [EXIT_REASON_EPT_VIOLATION, 'EPT_VIOLATION', 0x182, 0],
    [EXIT_REASON_MSR_WRITE, 'MSR_WRITE', 0, 0],
    [EXIT_REASON_HLT, 'HLT', 0, 0],
    [EXIT_REASON_APIC_ACCESS, 'APIC_ACCESS', 0x10b0, 0],
    [EXIT_REASON_EXTERNAL_INTERRUPT, 'EXTERNAL_INTERRUPT', 0, 0x800000fd],
    [10, 'CPUID', 0, 0],
    [18, 'VMCALL', 0, 0],
    [30, 'IO_INSTRUCTION', 0, 0],
    [31, 'MSR_READ', 0, 0],
    [0, 'EXCEPTION_NMI', 0, 0x80000b0e],
    [85, 'MSR_WRITE_IMM', 0, 0],
  ];
  for (const [reason, name, info1, intr] of cases)
    assert.equal(
      formatKvmEvent(TP_KVM_EXIT, 3, reason, info1, intr, 0n, null),
      printf(KVM_EXIT_FMT, 3, name, '', '', 0, info1, 0, intr, 0, 0),
    );
  // __print_symbolic of a reason without a name prints the number.
  assert.equal(
    formatKvmEvent(TP_KVM_EXIT, 0, 99, 0, 0, 0n, null),
    printf(KVM_EXIT_FMT, 0, '0x63', '', '', 0, 0, 0, 0, 0, 0),
  );
});

test('kvm_entry: the injected event (intr_info) and its error code, padded to 8 digits', () => {
  assert.equal(
    formatKvmEvent(TP_KVM_ENTRY, 1, 0x80000b0e, 0x6, 0, 0n, null),
    printf(KVM_ENTRY_FMT, 1, 0, 0x80000b0e, 6, ''),
  );
  assert.equal(formatKvmEvent(TP_KVM_ENTRY, 0, 0, 0, 0, 0n, null), printf(KVM_ENTRY_FMT, 0, 0, 0, 0, ''));
});

test('kvm_inj_exception: "#PF (0x0)" with an error code, "#UD" without one, " [reinjected]"', () => {
  // has_error ? " (" error_code ")" : "" — the error code through __print_symbolic with no names: 0x%lx.
  const exc = (name: string, err: number | null, re: boolean) =>
    printf(
      KVM_INJ_EXCEPTION_FMT,
      name,
      err === null ? '' : ' (',
      err === null ? '' : `0x${err.toString(16)}`,
      err === null ? '' : ')',
      re ? ' [reinjected]' : '',
    );
  assert.equal(formatKvmEvent(TP_KVM_INJ_EXCEPTION, 0, 14, 0, 0, 0n, null), exc('#PF', 0, false));
  assert.equal(formatKvmEvent(TP_KVM_INJ_EXCEPTION, 0, 13, 0x18, 1, 0n, null), exc('#GP', 0x18, true));
  assert.equal(formatKvmEvent(TP_KVM_INJ_EXCEPTION, 0, 8, 0, 0, 0n, null), exc('#DF', 0, false));
  assert.equal(formatKvmEvent(TP_KVM_INJ_EXCEPTION, 0, 6, 0, 0, 0n, null), exc('#UD', null, false));
  // As captured from the 6.18 kernel's trace file (test/trace/ftrace_live.test.ts compares them live).
  assert.equal(formatKvmEvent(TP_KVM_INJ_EXCEPTION, 0, 14, 0, 0, 0n, null), '#PF (0x0)');
  assert.equal(formatKvmEvent(TP_KVM_INJ_EXCEPTION, 0, 6, 0, 0, 0n, null), '#UD');
});

test('kvm_inj_virq, kvm_apic_accept_irq', () => {
  assert.equal(
    formatKvmEvent(TP_KVM_INJ_VIRQ, 0, 0xec, 0, 0, 0n, null),
    printf(KVM_INJ_VIRQ_FMT, 'IRQ', 0xec, ''),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_INJ_VIRQ, 0, 0x80, 1, 1, 0n, null),
    printf(KVM_INJ_VIRQ_FMT, 'Soft/INTn', 0x80, ' [reinjected]'),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_APIC_ACCEPT_IRQ, 0, 0x11, 236, 0, 0n, null),
    printf(KVM_APIC_ACCEPT_IRQ_FMT, 0x11, 236, 'Fixed', 'edge'),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_APIC_ACCEPT_IRQ, 0, 2, 0, 0x500 | 0x8000, 0n, null),
    printf(KVM_APIC_ACCEPT_IRQ_FMT, 2, 0, 'INIT', 'level'),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_APIC_ACCEPT_IRQ, 0, 0, 236, 0, 0n, null),
    'apicid 0 vec 236 (Fixed|edge)', // as captured
  );
});

test('kvm_msr: read, write, 64-bit data, " (#GP)" on failure (a failed read prints 0)', () => {
  assert.equal(
    formatKvmEvent(TP_KVM_MSR, 0, 0x4b564d06, 1, 0, 0xecn, null),
    printf(KVM_MSR_FMT, 'write', 0x4b564d06, 0xecn, ''),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_MSR, 0, 0x4b564d02, 1, 1, 0xffff_ffff_ffff_fff1n, null),
    printf(KVM_MSR_FMT, 'write', 0x4b564d02, 0xffff_ffff_ffff_fff1n, ' (#GP)'),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_MSR, 0, 0x1b, 0, 1, 0n, null),
    printf(KVM_MSR_FMT, 'read', 0x1b, 0n, ' (#GP)'),
  );
  assert.equal(formatKvmEvent(TP_KVM_MSR, 0, 0x4b564d06, 1, 0, 0xecn, null), 'msr_write 4b564d06 = 0xec');
});

test('kvm_hypercall and kvm_cpuid', () => {
  const args = [0n, 0xffff_ffffn, 2n, 0xffff_ffff_ffff_fc18n];
  assert.equal(
    formatKvmEvent(TP_KVM_HYPERCALL, 0, 0, 0, 0, 11n, args),
    printf(KVM_HYPERCALL_FMT, 11n, ...args),
  );
  const regs = [0x4018n, 0n, 0n, 0n];
  assert.equal(
    formatKvmEvent(TP_KVM_CPUID, 0, 0x40000001, 0, 1, 0n, regs),
    printf(KVM_CPUID_FMT, 0x40000001, 0, ...regs, 'found', ''),
  );
  assert.equal(
    formatKvmEvent(TP_KVM_CPUID, 0, 0x40000001, 0, 1, 0n, regs),
    'func 40000001 idx 0 rax 4018 rbx 0 rcx 0 rdx 0, cpuid entry found', // as captured
  );
  assert.equal(
    formatKvmEvent(TP_KVM_CPUID, 0, 0x4fffffff, 0, 2, 0n, regs),
    printf(KVM_CPUID_FMT, 0x4fffffff, 0, ...regs, 'not found', ', used max basic'),
  );
});

test('--events: tracefs names and globs, kvm: prefix; a pattern naming nothing is a usage error', () => {
  const def = parseEvents('--events');
  assert.ok(def.has('kvm_async_pf_not_present') && def.has('kvm_unmap_hva_range'));
  assert.equal(def.has('kvm_exit'), false);
  assert.equal(def.anyKvmEvent, false);
  const all = parseEvents('--events', 'kvm:*');
  for (const e of ['kvm_exit', 'kvm_entry', 'kvm_msr', 'kvm_cpuid', 'kvm_async_pf_ready'])
    assert.ok(all.has(e), e);
  const some = parseEvents('--events', 'kvm_exit, kvm_inj_*');
  assert.deepEqual(
    ['kvm_exit', 'kvm_inj_exception', 'kvm_inj_virq', 'kvm_entry', 'kvm_async_pf_ready'].map((e) =>
      some.has(e),
    ),
    [true, true, true, false, false],
  );
  assert.throws(() => parseEvents('--events', 'kvm_exitt'), UsageError);
  assert.throws(() => parseEvents('--events', 'sched:*'), /the only subsystem is kvm/);
  assert.throws(() => parseEvents('--events', ' , '), UsageError);
});

const examples = join(import.meta.dirname, '../../examples');
const loadScript = (name: string) => {
  const file = join(examples, name);
  return validateScenario(file, readScenarioFile(file, { bigint: true }), ScriptSchema);
};

// kvm-oracle §5.2: on the reference kernel one async PF traces kvm_msr (EN, then each ACK), the async-PF
// events and `kvm_inj_exception: #PF (0x0)`; the model's trace of apf-basic has them in that order.
test('script: the new events only with --events; the filter keeps only what it names; the transcript is unchanged', () => {
  const script = loadScript('apf-basic.yaml');
  const plain = runScript(script, { traceEvents: true, ftrace: true });
  assert.ok(!plain.ftrace.some((l) => /: kvm_(exit|entry|msr|inj_)/.test(l)));
  const all = runScript(script, {
    traceEvents: true,
    ftrace: true,
    events: parseEvents('--events', 'kvm:*'),
  });
  assert.deepEqual(all.records, plain.records, 'tracing the exits changes nothing in the run');
  // The async-PF lines are the same lines, in the same order, with the new ones between them.
  const apf = (ls: string[]) => ls.filter((l) => /: kvm_(try_async|async_pf)/.test(l));
  assert.deepEqual(apf(all.ftrace), apf(plain.ftrace));
  const text = all.ftrace.join('\n');
  // The #PF of the 'not present': exit (EPT violation, a read), the async-PF events, the injection, the entry.
  assert.match(
    text,
    /kvm_exit: vcpu 0 reason EPT_VIOLATION rip 0x0 info1 0x0000000000000181 .*\n.*kvm_try_async_get_page: .*\n.*kvm_async_pf_not_present: token 0x1000 gva 0x200000\n.*kvm_inj_exception: #PF \(0x0\)\n.*kvm_entry: vcpu 0, rip 0x0 intr_info 0x80000b0e error_code 0x00000000\n/,
  );
  assert.match(
    text,
    /kvm_async_pf_ready: token 0x1000 gva 0x200000\n.*kvm_apic_accept_irq: apicid 0 vec 236 \(Fixed\|edge\)\n.*kvm_inj_virq: IRQ 0xec\n.*kvm_entry: vcpu 0, rip 0x0 intr_info 0x800000ec /,
  );
  assert.match(text, /kvm_exit: vcpu 0 reason MSR_WRITE .*\n.*kvm_msr: msr_write 4b564d07 = 0x1\n/);
  const only = runScript(script, { ftrace: true, events: parseEvents('--events', 'kvm_msr') });
  assert.ok(only.ftrace.length > 0 && only.ftrace.every((l) => l.includes(': kvm_msr: ')));
});

test('script: a #GP on WRMSR/RDMSR is kvm_msr with " (#GP)", then the #GP injection with its error code', () => {
  const script = loadScript('peer/kvm-pv-test-msrs.yaml');
  const r = runScript(script, { ftrace: true, events: parseEvents('--events', 'kvm_msr,kvm_inj_exception') });
  const gp = r.ftrace.filter((l) => / \(#GP\)$/.test(l));
  assert.ok(gp.length > 0, 'the example has failing MSR accesses');
  for (const l of gp) assert.match(r.ftrace[r.ftrace.indexOf(l) + 1]!, /kvm_inj_exception: #GP \(0x0\)$/);
  // A failed read prints data 0.
  for (const l of gp.filter((x) => x.includes('msr_read'))) assert.match(l, / = 0x0 \(#GP\)$/);
});

test('script: cpuid and hypercall ops trace CPUID/VMCALL exits, kvm_cpuid and kvm_hypercall', () => {
  const cpuid = runScript(loadScript('peer/kvm-pv-test-cpuid.yaml'), {
    ftrace: true,
    events: parseEvents('--events', 'kvm:*'),
  }).ftrace.join('\n');
  assert.match(
    cpuid,
    /kvm_exit: vcpu 0 reason CPUID .*\n.*kvm_cpuid: func 40000000 idx 0 rax 40000001 rbx 4b4d564b rcx 564b4d56 rdx 4d, cpuid entry found\n/,
  );
  const hc = runScript(loadScript('peer/kvm-pv-test-hcall.yaml'), {
    ftrace: true,
    events: parseEvents('--events', 'kvm:*'),
  }).ftrace.join('\n');
  assert.match(
    hc,
    /kvm_exit: vcpu 0 reason VMCALL .*\n.*kvm_hypercall: nr 0x5 a0 0x0 a1 0x0 a2 0x0 a3 0x0\n/,
  );
});

test('sim: --events kvm:* instants on the vCPU threads pass the checker; the run is unchanged; off by default', () => {
  const scenario = () => loadSimScenario(join(examples, 'sim/calibration.yaml'));
  let json = '';
  let ftrace = '';
  const tracer = new SimTrace(
    {
      chrome: new ChromeTraceWriter((c) => {
        json += c;
      }),
      ftrace: new FtraceWriter((c) => {
        ftrace += c;
      }),
    },
    10_000,
    { start: 0, end: 2_000_000 },
    parseEvents('--events', 'kvm:*'),
  );
  const traced = runSimulation(scenario(), { tracer });
  const plain = runSimulation(scenario(), {});
  assert.deepEqual(traced.metrics, plain.metrics, 'tracing does not change the simulation');
  const r = checkTraceText(json);
  assert.equal(r.total, 0, formatCheckReport(r));
  assert.match(
    json,
    /"ph":"i","cat":"tracepoint","name":"kvm_exit","pid":\d+,"tid":\d+,"ts":[\d.]+,"s":"t","args":\{"text":"vcpu \d+ reason [A-Z_]+ rip 0x0 /,
  );
  assert.match(ftrace, /CPU \d+\/KVM-\d+ +\[\d{3}\] \.{5} +\d+\.\d{6}: kvm_entry: vcpu \d+, rip 0x0 /);
  assert.equal(new SimTrace({ chrome: null, ftrace: null }, 10_000).kvmEvents, false);
});

const bin = join(import.meta.dirname, '../../bin/kvmsim.js');
const kvmsim = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('CLI --events: opt-in on script and run; refused without a trace; a bad name is one line, exit 2', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kvmsim-events-'));
  const f = join(examples, 'apf-basic.yaml');
  const def = join(dir, 'd.txt');
  const all = join(dir, 'a.txt');
  assert.equal(kvmsim('script', f, '--ftrace', def).status, 0);
  const r = kvmsim('script', f, '--ftrace', all, '--events', 'kvm:*');
  assert.equal(r.status, 0, r.stderr);
  assert.doesNotMatch(readFileSync(def, 'utf8'), /kvm_exit/);
  assert.match(readFileSync(all, 'utf8'), /: kvm_exit: vcpu 0 reason MSR_WRITE /);
  // script --trace: the new events as instants on the vCPU thread, and the JSON passes the checker.
  const json = join(dir, 'a.json');
  assert.equal(kvmsim('script', f, '--trace', json, '--events', 'kvm:*').status, 0);
  const text = readFileSync(json, 'utf8');
  const report = checkTraceText(text);
  assert.equal(report.total, 0, formatCheckReport(report));
  assert.match(
    text,
    /"ph":"i","cat":"tracepoint","name":"kvm_inj_exception","pid":999,"tid":1000,.*"args":\{"text":"#PF \(0x0\)"\}/,
  );
  const bad = kvmsim('script', f, '--ftrace', all, '--events', 'kvm_nothing');
  assert.equal(bad.status, 2);
  assert.match(
    bad.stderr,
    /^kvmsim: --events: "kvm_nothing" names no event; the events are kvm_try_async_get_page, /,
  );
  const alone = kvmsim('script', f, '--events', 'kvm:*');
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--events: only with --ftrace or --trace/);
  const run = kvmsim('run', join(examples, 'sim/calibration.yaml'), '--events', 'kvm_exit');
  assert.equal(run.status, 2);
  assert.match(run.stderr, /--events: only with --trace or --ftrace/);
});
