// kvm-oracle §5.2/§5.3: real async page faults as the 6.18.44 kernel showed them (CPL 3, userfaultfd
// backing), replayed from examples/oracle/apf-*.yaml. The CPL-0 variant is not here: on the reference
// host (kvm_pvm) CPL-0 code is emulated and never takes the async path, a property of the host.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadScript } from '../../src/script/load_script.ts';
import { runScript } from '../../src/script/runner.ts';

const dir = join(import.meta.dirname, '../../examples/oracle');
/** Events and traces in order, as short strings. */
function run(name: string): string[] {
  const { records } = runScript(loadScript(join(dir, `${name}.yaml`)), { traceEvents: true });
  return records.flatMap((r) => {
    if ('trace' in r) return [`${r.trace.replace(/^kvm_/, '')}: ${r.text}`];
    if ('event' in r && r.event === 'irq') return [`irq ${r.vector} token ${r.token} flags ${r.flags}`];
    if ('event' in r && r.event === '#PF') return [`#PF cr2 ${r.cr2} err ${r.error_code} flags ${r.flags}`];
    if ('event' in r) return [r.event];
    if ('op' in r && r.kind === 'touch') return [`touch ${r.result}`];
    return [];
  });
}

test('kvm-oracle §5.2: two pages: wakeup-all, then #PF/IRQ with tokens 0x1000 and 0x2000, traces in order', () => {
  assert.deepEqual(run('apf-two-pages'), [
    'async_pf_ready: token 0xffffffff gva 0x0',
    'irq 0xec token 0xffffffff flags 0x0',
    'ack',
    'try_async_get_page: gva = 0x200000, gfn = 0x200',
    'async_pf_not_present: token 0x1000 gva 0x200000',
    '#PF cr2 0x1000 err 0x0 flags 0x1',
    'async_pf_completed: gva 0x200000 address 0x7f0000200000',
    'async_pf_ready: token 0x1000 gva 0x200000',
    'irq 0xec token 0x1000 flags 0x0',
    'ack',
    'touch ok',
    'try_async_get_page: gva = 0x201000, gfn = 0x201',
    'async_pf_not_present: token 0x2000 gva 0x201000',
    '#PF cr2 0x2000 err 0x0 flags 0x1',
    'async_pf_completed: gva 0x201000 address 0x7f0000201000',
    'async_pf_ready: token 0x2000 gva 0x201000',
    'irq 0xec token 0x2000 flags 0x0',
    'ack',
    'touch ok',
  ]);
});

test('kvm-oracle §5.3 PFNOWAIT: retry → repeated fault (halt) → completed → ready; IRQ before the read completes', () => {
  const t = run('apf-pfnowait');
  const i = t.indexOf('#PF cr2 0x1000 err 0x0 flags 0x1');
  assert.deepEqual(t.slice(i + 1), [
    'try_async_get_page: gva = 0x200000, gfn = 0x200',
    'async_pf_repeated_fault: gva = 0x200000, gfn = 0x200',
    'async_pf_completed: gva 0x200000 address 0x7f0000200000',
    'async_pf_ready: token 0x1000 gva 0x200000',
    'irq 0xec token 0x1000 flags 0x0',
    'ack',
    'touch ok',
  ]);
});

test('kvm-oracle §5.3 NOCLEAR: the second #PF also reports flags 1 (KVM does not check)', () => {
  const pfs = run('apf-noclear').filter((l) => l.startsWith('#PF'));
  assert.deepEqual(pfs, ['#PF cr2 0x1000 err 0x0 flags 0x1', '#PF cr2 0x2000 err 0x0 flags 0x1']);
});

for (const name of ['apf-disabled', 'apf-no-int-bit']) {
  test(`kvm-oracle §5.3 ${name === 'apf-disabled' ? 'EN=0' : 'EN=0x3001'}: no #PF, no IRQ; the artificial halt's traces`, () => {
    assert.deepEqual(run(name), [
      'try_async_get_page: gva = 0x200000, gfn = 0x200',
      'async_pf_not_present: token 0x1000 gva 0x200000',
      'async_pf_completed: gva 0x200000 address 0x7f0000200000',
      'async_pf_ready: token 0x1000 gva 0x200000',
      'touch ok',
    ]);
  });
}

test('kvm-oracle §5.3 no in-kernel irqchip: synchronous fault, no async tracepoints', () => {
  assert.deepEqual(run('apf-no-irqchip'), ['touch ok']);
});
