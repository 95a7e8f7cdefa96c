// The LAPIC's cached highest IRR/ISR vectors (lapic.ts) must always equal a scan of the 256-bit
// registers, whatever sequence of accepts, acks, EOIs, software disables and resets led there, and after
// a wholesale restore (apic_update_highest). The delivery rules they feed are x86-apf §3.10 and
// kvm-oracle §4 S7 (vectors below 16 stay in IRR for ever).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { APIC_EOI, APIC_SPIV } from '../../../src/abi/apicdef.ts';
import {
  apic_update_highest,
  type KvmLapic,
  kvm_apic_ack_interrupt,
  kvm_apic_has_interrupt,
  kvm_apic_set_irq,
  kvm_lapic_reg_write,
  kvm_lapic_reset,
  newLapic,
} from '../../../src/host/x86/lapic.ts';

/** The highest set bit of a 256-bit register, by scanning every vector. */
function scan(r: Uint32Array): number {
  for (let v = 255; v >= 0; v--) if ((r[v >>> 5]! >>> (v & 31)) & 1) return v;
  return -1;
}

const op = fc.oneof(
  fc.record({ k: fc.constant('irq' as const), v: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ k: fc.constant('deliver' as const) }),
  fc.record({ k: fc.constant('eoi' as const) }),
  fc.record({ k: fc.constant('svr' as const), on: fc.boolean() }),
  fc.record({ k: fc.constant('reset' as const) }),
);

type Op =
  | { k: 'irq'; v: number }
  | { k: 'deliver' }
  | { k: 'eoi' }
  | { k: 'svr'; on: boolean }
  | { k: 'reset' };

function apply(apic: KvmLapic, o: Op): void {
  switch (o.k) {
    case 'irq':
      kvm_apic_set_irq(apic, o.v);
      return;
    case 'deliver': {
      const v = kvm_apic_has_interrupt(apic);
      if (v >= 0) kvm_apic_ack_interrupt(apic, v);
      return;
    }
    case 'eoi':
      kvm_lapic_reg_write(apic, APIC_EOI, 0);
      return;
    case 'svr':
      kvm_lapic_reg_write(apic, APIC_SPIV, o.on ? 0x1ff : 0xff);
      return;
    default:
      kvm_lapic_reset(apic, false, true);
  }
}

test('cached highest IRR/ISR equal a full scan after any sequence of LAPIC operations', () => {
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      const apic = newLapic(true);
      kvm_lapic_reg_write(apic, APIC_SPIV, 0x1ff);
      for (const o of ops) {
        apply(apic, o);
        assert.equal(apic.highest_irr, scan(apic.irr));
        assert.equal(apic.highest_isr, scan(apic.isr));
      }
    }),
    { numRuns: 500 },
  );
});

test('apic_update_highest recomputes the caches after a wholesale restore of IRR/ISR', () => {
  const apic = newLapic(true);
  apic.irr[7] = 1 << 3;
  apic.isr[1] = 1 << 16;
  apic_update_highest(apic);
  assert.equal(apic.highest_irr, 227);
  assert.equal(apic.highest_isr, 48);
});

// issue 12 item 4: IA32_APICBASE after RESET is 0xfee00000 | ENABLE (| BSP) as an unsigned value; the
// signed 32-bit `|` of numbers made it read back as "0x-11ff700".
test('IA32_APICBASE reads 0xfee00900 on the BSP and 0xfee00800 on an AP, after RESET too', () => {
  const bsp = newLapic(true);
  const ap = newLapic(false);
  assert.equal(bsp.apic_base, 0xfee00900);
  assert.equal(ap.apic_base, 0xfee00800);
  bsp.apic_base = 0;
  kvm_lapic_reset(bsp, false, true);
  assert.equal(bsp.apic_base, 0xfee00900);
  assert.equal(BigInt(bsp.apic_base).toString(16), 'fee00900');
});
