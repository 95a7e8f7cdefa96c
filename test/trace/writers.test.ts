// The trace writers' fast paths print exactly what the plain ones (and String, padStart, toString(16))
// print: AsciiOut's number writers, the prepared Chrome events against the plain methods, and the
// prepared ftrace lines against formatFtraceLine.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AsciiOut, Fragment } from '../../src/trace/ascii_out.ts';
import {
  ArgsLayout,
  ChromeTraceWriter,
  CounterTrack,
  EventKind,
  FixedArgs,
  formatTraceTime,
  HexIds,
  type TraceArgs,
  Track,
} from '../../src/trace/chrome.ts';
import {
  FtraceFormat,
  FtraceTask,
  FtraceWriter,
  formatFtraceLine,
  ftraceHeader,
  ftraceText,
} from '../../src/trace/ftrace.ts';

/** A deterministic stream of integers of 1 to 53 bits. */
function* integers(count: number, seed = 1): Generator<number> {
  let x = seed;
  const next = () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x;
  };
  for (let i = 0; i < count; i++) yield (next() * 2 ** 21 + (next() >>> 11)) % 2 ** (1 + (i % 53));
}

const EDGES = [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 999_999, 1e6, 999_999_999, 1e9, 2 ** 31 - 1, 2 ** 31];
const WIDE = [2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 1e12, 2 ** 48 - 1, 2 ** 53 - 1];

/** What `fill` writes into an AsciiOut, as one string. */
function written(fill: (o: AsciiOut) => void): string {
  let s = '';
  const o = new AsciiOut((c) => {
    s += c;
  });
  fill(o);
  o.flush();
  return s;
}

test('AsciiOut: integers, padded integers and hex digits as String, padStart and toString(16)', () => {
  const ns = [...EDGES, ...WIDE, ...integers(20_000)];
  const want = ns.map((n) => `${n}|${String(n).padStart(5)}|${n.toString(16)}|${String(-n)}|`);
  const got = written((o) => {
    for (const n of ns) {
      o.uint(n);
      o.raw('|');
      o.spacePadded(n, 5);
      o.raw('|');
      o.hexDigits(n);
      o.raw('|');
      o.int(-n);
      o.raw('|');
    }
  });
  assert.equal(got, want.join(''));
  const small = ns.filter((n) => n < 1e6);
  assert.equal(
    written((o) => {
      for (const n of small) o.padded(n, 6);
    }),
    small.map((n) => String(n).padStart(6, '0')).join(''),
  );
  // Anything else goes through toString(16).
  const odd = [-1, 0.5, 2 ** 60, -0];
  assert.equal(
    written((o) => {
      for (const n of odd) o.hexDigits(n);
    }),
    odd.map((n) => n.toString(16)).join(''),
  );
});

test('AsciiOut: times as formatTraceTime prints them, including negative and fractional ones', () => {
  const ts = [0, 0.4, 0.5, 0.6, 999.5, 1000, -0.4, -0.6, -1, -1500, 1e15 + 3, 2 ** 53 - 1, 123_456_789.5];
  for (const n of integers(5_000, 7)) ts.push(n / 7, -n / 3);
  assert.equal(
    written((o) => {
      for (const t of ts) o.micros(t);
    }),
    ts.map(formatTraceTime).join(''),
  );
});

test('AsciiOut: fragments copy ASCII bytes, and send other text whole', () => {
  const frags = ['', 'short', 'a longer fragment, over sixteen bytes', 'non-ASCII: µs ✓'].map(
    (t) => new Fragment(t),
  );
  assert.equal(frags[3]!.bytes, null);
  const chunks: string[] = [];
  const o = new AsciiOut((c) => {
    chunks.push(c);
  });
  for (const f of frags) o.fragment(f);
  o.flush();
  assert.equal(chunks.join(''), frags.map((f) => f.text).join(''));
  assert.equal(o.bytes, Buffer.byteLength(chunks.join('')));
});

/** The document a writer produces. */
function chromeDoc(fill: (w: ChromeTraceWriter) => void): string {
  let s = '';
  const w = new ChromeTraceWriter((c) => {
    s += c;
  });
  fill(w);
  w.close();
  return s;
}

test('chrome: prepared events have the bytes of the plain ones', () => {
  const times = [0, 1, 999.5, 1234.567, 123_456_789, -1500, 2 ** 40 + 7];
  const names = ['schedule', 'q"uote\\', 'nàme ✓', 'ctl\u0001'];
  const record: TraceArgs = { vm: 'wéb "0"', gfn: '0x1f', queued_us: 12.345, ok: true, bad: Number.NaN };
  const layout = new ArgsLayout(['vm', 'gfn', 'queued_us', 'ok', 'bad'], ['gfn']);
  const fixed = new FixedArgs({ end: 'task woken' });
  const plain = chromeDoc((w) => {
    for (const name of names)
      for (const t of times) {
        w.complete(100, 1_000_001, 'vcpu', name, t, t / 3);
        w.complete(1, 1003, 'swap', name, t, 5, record);
        w.instantEvent(100, 1_000_001, 'vcpu', name, t);
        const id = `vm0.vcpu1.0x${(t >>> 0).toString(16)}`;
        w.asyncBegin(100, 1_000_001, 'apf', `token 0x${(t >>> 0).toString(16)}`, id, t, { gva: '0x7f00' });
        w.asyncEnd(100, 1_000_001, 'apf', name, id, t, { end: 'task woken' });
        w.flowStart(100, 1_000_001, 'apf', name, id, t);
        w.flowEnd(100, 1_000_001, 'apf', name, id, t);
        w.counter(1, name, t, { queued: 3, busy: t });
        w.counter(1, name, t, {});
      }
  });
  const prepared = chromeDoc((w) => {
    const vcpu = new Track(100, 1_000_001);
    const swap = new Track(1, 1003);
    const ids = new HexIds('vm0.vcpu1.0x');
    const gva = new ArgsLayout(['gva'], ['gva']);
    for (const name of names) {
      const slice = new EventKind('X', 'vcpu', name);
      const io = new EventKind('X', 'swap', name);
      const tokenBegin = EventKind.numbered('b', 'apf', 'token 0x');
      const end = new EventKind('e', 'apf', name);
      const counter = new CounterTrack(1, name, ['queued', 'busy']);
      const empty = new CounterTrack(1, name, []);
      for (const t of times) {
        w.slice(slice, vcpu, t, t + t / 3);
        layout.values.splice(0, 5, 'wéb "0"', 0x1f, 12.345, true, Number.NaN);
        w.slice(io, swap, t, t + 5, layout);
        w.instant(new EventKind('i', 'vcpu', name), vcpu, t);
        gva.values[0] = 0x7f00;
        w.span(tokenBegin, vcpu, ids, t >>> 0, t, gva);
        w.span(end, vcpu, ids, t >>> 0, t, fixed);
        w.flow(new EventKind('s', 'apf', name), vcpu, ids, t >>> 0, t);
        w.flow(new EventKind('f', 'apf', name), vcpu, ids, t >>> 0, t);
        w.counterAt(counter, t, [3, t]);
        w.counterAt(empty, t, []);
      }
    }
  });
  assert.equal(prepared, plain);
  assert.equal((JSON.parse(plain) as { traceEvents: unknown[] }).traceEvents.length, 9 * 4 * 7);
  assert.throws(() => chromeDoc((w) => w.slice(EventKind.numbered('X', 'c', 'n '), new Track(1, 1), 0, 0)));
});

test('ftrace: prepared lines are the lines formatFtraceLine makes', () => {
  const times = [0, 999, 1000, 1_000_000_001, 123_456_789_012, 99_999_999_999_999, 0.5, 1234.9, -1];
  const fmt = new FtraceFormat('kvm_async_pf_completed', ['gva ', ' address 0x', ''], [1, 0]);
  const text = (a: number, b: number) => `gva ${b.toString(16)} address 0x${a.toString(16)}`;
  const tasks = [
    { comm: 'CPU 0/KVM', pid: 1000, cpu: 0 },
    { comm: 'kwörker/1:1', pid: 101, cpu: 1234 },
    { comm: 'a-very-long-comm-name-that-exceeds', pid: 5, cpu: 7 },
  ];
  const want: string[] = [];
  let got = '';
  const w = new FtraceWriter((c) => {
    got += c;
  });
  for (const l of tasks) {
    const task = new FtraceTask(l.comm, l.pid, l.cpu);
    for (const t of times) {
      const [a, b] = [t >>> 0, 2 ** 47 - 1 - t];
      w.formatted(task, t, fmt, a, b);
      w.lineOf(task, t, 'kvm_x', 'ü');
      want.push(formatFtraceLine({ ...l, timeNs: t, event: 'kvm_async_pf_completed', text: text(a, b) }));
      want.push(formatFtraceLine({ ...l, timeNs: t, event: 'kvm_x', text: 'ü' }));
    }
  }
  w.close();
  assert.equal(fmt.text(0x1000, 0x7f), text(0x1000, 0x7f));
  assert.equal(got, `${want.join('\n')}\n`);
  assert.equal(w.lines, want.length);
  assert.equal(w.header(), ftraceHeader(want.length, 1));
});

// The layout of the kernel's `trace` file, as read on the reference host (6.18.44) from a private
// tracefs instance with sched_process_exec enabled (cat -A showed no trailing blanks):
const KERNEL_TRACE = `# tracer: nop
#
# entries-in-buffer/entries-written: 3/3   #P:2
#
#                                _-----=> irqs-off/BH-disabled
#                               / _----=> need-resched
#                              | / _---=> hardirq/softirq
#                              || / _--=> preempt-depth
#                              ||| / _-=> migrate-disable
#                              |||| /     delay
#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION
#              | |         |   |||||     |         |
            true-2783    [001] ..... 30435.943185: sched_process_exec: filename=/bin/true pid=2783 old_pid=2783
           sleep-2784    [001] ..... 30435.955934: sched_process_exec: filename=/usr/bin/sleep pid=2784 old_pid=2784
            node-2785    [001] ..... 30435.983676: sched_process_exec: filename=/usr/bin/node pid=2785 old_pid=2785
`;

test('ftrace: the header and columns of the kernel trace file, byte for byte', () => {
  const lines = [
    ['true', 2783, '/bin/true'],
    ['sleep', 2784, '/usr/bin/sleep'],
    ['node', 2785, '/usr/bin/node'],
  ].map(([comm, pid, file], i) =>
    formatFtraceLine({
      comm: comm as string,
      pid: pid as number,
      cpu: 1,
      timeNs: [30435943185999, 30435955934000, 30435983676123][i]!,
      event: 'sched_process_exec',
      text: `filename=${file} pid=${pid} old_pid=${pid}`,
    }),
  );
  assert.equal(ftraceText(lines, 2), KERNEL_TRACE);
  // A 7-digit pid fills its column; a 15-character comm (TASK_COMM_LEN - 1) fits the 16.
  assert.equal(
    formatFtraceLine({ comm: 'kworker/12:1H-k', pid: 4194304, cpu: 12, timeNs: 1e9, event: 'e', text: 't' }),
    ' kworker/12:1H-k-4194304 [012] .....     1.000000: e: t',
  );
  assert.equal(ftraceText([], 4), ftraceHeader(0, 4));
  assert.match(
    ftraceHeader(0, 4),
    /^# tracer: nop\n#\n# entries-in-buffer\/entries-written: 0\/0 {3}#P:4\n#\n/,
  );
});
