// The encoding is complete: a world decoded from the encoding of another behaves exactly like it (the
// same step from both gives the same encoding), and decoding reproduces every field of the real host and
// guest objects except the ones listed as dead, derived or statistics. A new field in KvmVcpu, in the
// Linux guest's state or in the bare guest's records that the codec misses fails the second test.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BareAdapter } from '../../../src/explore/x86/bare_adapter.ts';
import { defaultVm, type ExploreWorldConfig, noEnv } from '../../../src/explore/x86/config.ts';
import { x86ExploreModel } from '../../../src/explore/x86/model.ts';
import { PROPERTY_NAMES } from '../../../src/explore/x86/properties.ts';

const touch = (gpa: number, mode: 'user' | 'kernel' = 'user') => ({
  kind: 'touch' as const,
  gpa,
  write: false,
  mode,
});

function linux(
  o: Partial<ExploreWorldConfig> & { kernel?: 'linux-5.10' | 'linux-6.x' | 'linux-4.19' } = {},
): ExploreWorldConfig {
  return {
    era: '6.18',
    bugs: [],
    vm: defaultVm({ vcpus: 2 }),
    guest: {
      kind: 'linux',
      kernel: o.kernel ?? 'linux-5.10',
      preempt: false,
      tasks: [
        { cpu: 0, program: [touch(0x4000), { kind: 'compute', ns: 1 }, touch(0x5000, 'kernel')] },
        { cpu: 1, program: [touch(0x5000), touch(0x4000)] },
        { cpu: 0, program: [touch(0x6000)] },
      ],
      max_dummies: 2,
      slice_actions: 1,
      apic_enable_at_boot: true,
      wake_all_frees_dummies: false,
    },
    env: { ...noEnv(), en_rewrite: 1, svr_toggle: 1, smi: 1, init: 1, evict: 1 },
    properties: [...PROPERTY_NAMES],
    symmetry: false,
    ...o,
  };
}

const bare: ExploreWorldConfig = {
  ...linux(),
  era: '4.19',
  vm: defaultVm({ vcpus: 1 }),
  guest: {
    kind: 'bare',
    programs: [
      [
        { op: 'apic_enable', mode: 'x2apic' },
        { op: 'wrmsr', msr: 0x4b564d02, value: 0x3001n },
        { op: 'sti' },
        { op: 'touch', gpa: 0x4000n, cpl: 3, write: false, retry: false },
        { op: 'touch', gpa: 0x5000n, cpl: 3, write: false, retry: true },
      ],
    ],
    handlers: {
      page_ready: { clear_token: true, ack: 1n, eoi: 'last' },
      page_fault: { clear_flags: true, wait_for_ready: true },
    },
    ack_before_clear: false,
  },
  env: { ...noEnv(), en_rewrite: 1, smi: 1, init: 1 },
};

const CONFIGS: Array<[string, ExploreWorldConfig]> = [
  ['linux 5.10, 2 vCPUs, every environment step', linux()],
  [
    'linux 6.x on 6.17 with the barrier bug',
    linux({ kernel: 'linux-6.x', era: '6.17', bugs: ['present-queued-barrier'] }),
  ],
  ['legacy linux 4.19 on a 4.19 host', linux({ kernel: 'linux-4.19', era: '4.19' })],
  ['bare guest on 4.19', bare],
  [
    'linux 5.10 on 6.18 with the MMU-notifier model, host operations and a memslot update',
    linux({
      vm: defaultVm({ vcpus: 2 }),
      mmu: { split_fault: true, seq_start: 0, ops: ['migrate', 'ksm_replace', 'memslot_remap'], budget: 3 },
      properties: [...PROPERTY_NAMES],
    }),
  ],
];

/** A deterministic pseudo-random sequence (tests may not use Math.random either: reproducible runs). */
function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

for (const [name, cfg] of CONFIGS) {
  test(`${name}: a decoded world steps exactly like the original (random walks)`, () => {
    const m = x86ExploreModel(cfg, { por: false, symmetry: false });
    const rnd = lcg(7);
    const steps = new Int32Array(m.stepCount);
    const a = new Int32Array(m.stateWords);
    const b = new Int32Array(m.stateWords);
    for (let walk = 0; walk < 12; walk++) {
      const s = m.initial();
      const t = m.initial();
      for (let depth = 0; depth < 80; depth++) {
        const n = m.enabled(s, steps);
        if (n === 0) break;
        const step = steps[Math.floor(rnd() * n)]!;
        m.encode(s, a);
        m.decode(a, 0, t);
        m.encode(t, b);
        assert.deepEqual(b, a, `decode∘encode is the identity on encodings (walk ${walk}, depth ${depth})`);
        m.apply(s, step);
        m.apply(t, step);
        m.encode(s, a);
        m.encode(t, b);
        assert.deepEqual(
          b,
          a,
          `step ${m.stepLabel(step, t)} diverges after decoding (walk ${walk}, depth ${depth})`,
        );
      }
    }
  });
}

/** Paths that the encoding leaves out on purpose (docs/explore-x86.md, "State encoding"). */
const IGNORED = [
  /\.stat\./, // statistics
  /^vcpu\.mmu_fault_seq$/, // re-based: the world writes "changed since" against the VM's sequence
  /^vm\.mmu\.(mmu_invalidate_seq|memslots_generation|change_pte_warned)$/, // re-based / parity / not state
  /^vcpu\.cr2$/, // written and read within one #PF delivery
  /^vcpu\.exception\.(vector|error_code|payload|has_payload|vmexit)$/, // dead unless pending or injected
  /^vcpu\.apic\.apic_base$/, // the same 32 bits, signed or not
  /^vcpu\.async_pf\.(wGen|wSeq|nextSeq|doneHead|done|wToken|wGfn|wCr2OrGpa|wCr3|wErrorCode|wFlags)\./, // slots are renumbered
  /^vcpu\.async_pf\.(nextSeq|doneHead)$/,
  /^vcpu\.apf\.gfns\./, // a set: probe positions differ
  /^vcpu\.apf\.data\.(gpa|off)$/, // off is derived; gpa is dead while invalid and not re-initializable
  /^vcpu\.apf\.data\.generation$/, // written as "stale vs the VM's current", where that is live
  /^guest\.(cpu\.(last\w+|irq_hv_callback_count|contextSwitches|spuriousIrqs|reschedIpis|halts)|task\.(bursts|touches|retries|sleeps)|counters)\./,
  /^guest\.cpu\.(kq|rq|kqPos|kqLen|rqHead|sliceUsed|excToken|excErrorCode|excFlags|excSaved|irqVector|irqToken|irqSaved|gpFixupValue|haltSaved)\./, // rings re-based, dead frame registers
  /^guest\.task\.(actFlags|actGpa|actNs|waitToken)\./, // dead once completed / not waiting
  /^guest\.sleepers\.(next|token|cpu|halted|head|freeDummy|dummies\w*|dummyAllocFailures|duplicateTokens)/, // re-linked in list order
  /^guest\.sleepers\.\w+$/,
  /^guest\.cpus\.\d+\.value$/, // bare: an op's read value, only printed in the op's record
];

function flatten(o: unknown, p: string, out: Map<string, unknown>): void {
  if (ArrayBuffer.isView(o)) {
    Array.from(o as Int32Array).forEach((v, i) => {
      out.set(`${p}.${i}`, v);
    });
    return;
  }
  if (o !== null && typeof o === 'object') {
    for (const [k, v] of Object.entries(o)) {
      if (v instanceof DataView) continue; // the hva cache's page view (derived)
      if (k === 'config') continue;
      flatten(v, `${p}.${k}`, out);
    }
    return;
  }
  out.set(p, typeof o === 'bigint' ? `${o}n` : o);
}

test('decoding restores every host and guest field the encoding does not deliberately leave out', () => {
  for (const [name, cfg] of CONFIGS) {
    const m = x86ExploreModel(cfg, { por: false, symmetry: false });
    const rnd = lcg(11);
    const steps = new Int32Array(m.stepCount);
    const words = new Int32Array(m.stateWords);
    const t = m.initial();
    for (let walk = 0; walk < 2; walk++) {
      const s = m.initial();
      for (let depth = 0; depth < 50; depth++) {
        const n = m.enabled(s, steps);
        if (n === 0) break;
        m.apply(s, steps[Math.floor(rnd() * n)]!);
        m.encode(s, words);
        m.decode(words, 0, t);
        for (let v = 0; v < cfg.vm.vcpus; v++) {
          const a = new Map<string, unknown>();
          const b = new Map<string, unknown>();
          flatten(s.world.vcpu(v), 'vcpu', a);
          flatten(t.world.vcpu(v), 'vcpu', b);
          // SMRAM is read only by RSM, so it is state only while the vCPU is in SMM.
          const dead = (k: string) => a.get('vcpu.smm') === false && k.startsWith('vcpu.smram.');
          for (const [k, x] of a)
            if (!IGNORED.some((r) => r.test(k)) && !dead(k))
              assert.equal(b.get(k), x, `${name}: ${k} after decoding`);
        }
        if (cfg.mmu !== undefined) {
          // The VM's notifier side and the host memory operations in flight (mmu_codec.ts).
          const va = new Map<string, unknown>();
          const vb = new Map<string, unknown>();
          flatten({ mmu: s.world.vm.mmu, mm: s.world.vm.mm }, 'vm', va);
          flatten({ mmu: t.world.vm.mmu, mm: t.world.vm.mm }, 'vm', vb);
          for (const [k, x] of va)
            if (!IGNORED.some((r) => r.test(k)) && !k.startsWith('vm.mm.count'))
              assert.equal(vb.get(k), x, `${name}: ${k} after decoding`);
        }
        const ga = new Map<string, unknown>();
        const gb = new Map<string, unknown>();
        // Each guest model's own state: the Linux guest's `state`, the bare guest's per-vCPU records.
        const gs = (w: typeof s): object => {
          const g = w.world.guest;
          if (g instanceof BareAdapter)
            return { cpus: g.model.cpus, area: g.model.area, pageReadyVector: g.model.pageReadyVector };
          return (g as unknown as { state: object }).state;
        };
        flatten(gs(s), 'guest', ga);
        flatten(gs(t), 'guest', gb);
        for (const [k, x] of ga)
          if (!IGNORED.some((r) => r.test(k))) assert.equal(gb.get(k), x, `${name}: ${k} after decoding`);
      }
    }
  }
});
