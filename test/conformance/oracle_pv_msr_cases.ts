// The kvm-oracle §3 matrix extended to every KVM PV MSR besides async PF (issue 17): the legacy kvmclock
// MSRs 0x11/0x12, MSR_KVM_WALL_CLOCK_NEW, _SYSTEM_TIME_NEW, _STEAL_TIME, _PV_EOI_EN, _POLL_CONTROL, and
// two 0x4b564dxx numbers KVM does not implement (0x4b564d08 MSR_KVM_MIGRATION_CONTROL, which only
// userspace handles, and 0x4b564dff). Guest side (WRMSR/RDMSR from the real-mode guest) and host side
// (KVM_SET_MSRS/KVM_GET_MSRS), each row on a fresh VM, over irqchip × enforcement × four CPUIDs.
//
// The expected cells are not the model's: `expectCell` states the rules as read in 6.18's
// kvm_set_msr_common / kvm_get_msr_common (arch/x86/kvm/x86.c) and kvm_lapic_set_pv_eoi (lapic.c), with
// 5bb9ac186512 (a host access that fails the CPUID gate reads 0 and may write 0), the behaviour of the
// reference host's 6.18.44. The model test (oracle_pv_msr.test.ts) holds the model to these cells; the
// live oracle suite runs the same scripts on /dev/kvm (group `pvmsr` of test/oracle/catalogue.ts).
import * as para from '../../src/abi/kvm_para.ts';
import type { OpRecord } from '../../src/script/transcript.ts';

export interface PvConfig {
  irqchip: boolean;
  enforce: boolean;
  /** CPUID 0x40000001.eax: 0, CLOCKSOURCE only (1), CLOCKSOURCE2 only (8), everything (0x1007efb). */
  cpuid: number;
}
export const PV_CPUIDS = [0, 0x1, 0x8, 0x1007efb] as const;
export const pvConfigs: PvConfig[] = [];
for (const irqchip of [false, true])
  for (const enforce of [false, true])
    for (const cpuid of PV_CPUIDS) pvConfigs.push({ irqchip, enforce, cpuid });
export const pvConfigName = (c: PvConfig): string =>
  `irqchip=${Number(c.irqchip)} enforce=${Number(c.enforce)} cpuid=${c.cpuid.toString(16)}`;

type Kind = 'wall' | 'time' | 'steal' | 'eoi' | 'poll' | 'unknown';
interface PvMsr {
  name: string;
  msr: number;
  kind: Kind;
  /** The KVM_FEATURE_* bit guest_pv_has checks (-1: not a KVM MSR). */
  feature: number;
  /** Values written by the guest and by the host, one row each. */
  values: bigint[];
}

/** RAM is 64 KiB: 0x5000 is in it, 0x10000000 is in no memslot. */
export const PV_MSRS: PvMsr[] = [
  {
    name: 'MSR_KVM_WALL_CLOCK',
    msr: para.MSR_KVM_WALL_CLOCK,
    kind: 'wall',
    feature: 0,
    values: [0x5000n, 0x5003n, 0x10000000n],
  },
  {
    name: 'MSR_KVM_SYSTEM_TIME',
    msr: para.MSR_KVM_SYSTEM_TIME,
    kind: 'time',
    feature: 0,
    values: [0x5001n, 0x5000n, 0x10000001n, 0xfff0000000005001n],
  },
  {
    name: 'MSR_KVM_WALL_CLOCK_NEW',
    msr: para.MSR_KVM_WALL_CLOCK_NEW,
    kind: 'wall',
    feature: 3,
    values: [0x5000n, 0x10000000n],
  },
  {
    name: 'MSR_KVM_SYSTEM_TIME_NEW',
    msr: para.MSR_KVM_SYSTEM_TIME_NEW,
    kind: 'time',
    feature: 3,
    values: [0x5001n, 0x10000001n],
  },
  {
    name: 'MSR_KVM_STEAL_TIME',
    msr: para.MSR_KVM_STEAL_TIME,
    kind: 'steal',
    feature: 5,
    values: [0x5001n, 0x5000n, 0x5003n, 0x5021n, 0x5041n, 0x10000001n],
  },
  {
    name: 'MSR_KVM_PV_EOI_EN',
    msr: para.MSR_KVM_PV_EOI_EN,
    kind: 'eoi',
    feature: 6,
    values: [0x5001n, 0x5000n, 0x5002n, 0x5005n, 0x10000001n, 0x10000000n],
  },
  {
    name: 'MSR_KVM_POLL_CONTROL',
    msr: para.MSR_KVM_POLL_CONTROL,
    kind: 'poll',
    feature: 12,
    values: [0n, 1n, 2n, 3n],
  },
  { name: '0x4b564d08', msr: para.MSR_KVM_MIGRATION_CONTROL, kind: 'unknown', feature: -1, values: [0n, 1n] },
  { name: '0x4b564dff', msr: 0x4b564dff, kind: 'unknown', feature: -1, values: [0n] },
];

const RAM = 64n * 1024n;
const hex = (v: bigint) => `0x${v.toString(16)}`;

/** Whether a value is valid for the MSR (the checks after the CPUID gate, 6.18). */
function valid(m: PvMsr, v: bigint): boolean {
  switch (m.kind) {
    case 'wall':
    case 'time':
      return true; // any value; an unusable gpa is ignored
    case 'steal':
      return (v & 0x3en) === 0n; // KVM_STEAL_RESERVED_MASK; the area is mapped only when recorded
    case 'eoi': {
      const addr = v & ~1n;
      if (addr & 3n) return false;
      return (v & 1n) === 0n || addr + 1n <= RAM; // enabled: the byte must be in a memslot
    }
    case 'poll':
      return v <= 1n;
    case 'unknown':
      return false;
  }
}

const initial = (m: PvMsr): bigint => (m.kind === 'poll' ? 1n : 0n);

export type Want = [OpRecord['result'], string | undefined];
export interface PvCase {
  name: string;
  config: PvConfig;
  label: string;
  ops: Array<Record<string, unknown>>;
  want: Want[];
  data: Record<string, unknown>;
}

/** The scripts of one MSR in one configuration, with the cells the kernel rules give. */
export function pvCasesOf(c: PvConfig, m: PvMsr): PvCase[] {
  const known = m.kind !== 'unknown';
  const gate = known && (!c.enforce || ((c.cpuid >>> m.feature) & 1) === 1);
  const gread = (v: bigint): Want => (gate ? ['ok', hex(v)] : ['#GP', undefined]);
  // KVM_GET_MSRS: a gated-off PV MSR reads 0 (5bb9ac186512); an unknown MSR stops the ioctl.
  const hread = (v: bigint): Want => (!known ? ['rejected', undefined] : ['ok', hex(gate ? v : 0n)]);
  const rows: Array<{ label: string; ops: Array<Record<string, unknown>>; want: Want[] }> = [];
  const msr = m.name.startsWith('0x') ? m.name : m.name;
  rows.push({
    label: `${m.name} initial read`,
    ops: [
      { op: 'rdmsr', msr },
      { op: 'host_get_msr', msr },
    ],
    want: [gread(initial(m)), hread(initial(m))],
  });
  for (const v of m.values) {
    const ok = gate && valid(m, v);
    const after = ok ? v : initial(m);
    rows.push({
      label: `${m.name}=${hex(v)}`,
      ops: [
        { op: 'wrmsr', msr, value: hex(v) },
        { op: 'rdmsr', msr },
        { op: 'host_get_msr', msr },
      ],
      want: [[ok ? 'ok' : '#GP', undefined], gread(after), hread(after)],
    });
    const hok = gate ? valid(m, v) : known && v === 0n;
    const hafter = gate && hok ? v : initial(m);
    rows.push({
      label: `host ${m.name}=${hex(v)}`,
      ops: [
        { op: 'host_set_msr', msr, value: hex(v) },
        { op: 'host_get_msr', msr },
        { op: 'rdmsr', msr },
      ],
      want: [[hok ? 'ok' : 'rejected', undefined], hread(hafter), gread(hafter)],
    });
  }
  return rows.map((r) => ({
    name: `pvmsr/${pvConfigName(c)}/${r.label}`,
    config: c,
    label: r.label,
    ops: r.ops,
    want: r.want,
    data: {
      kind: 'script',
      era: '6.18',
      vm: {
        memory: '64KiB',
        irqchip: c.irqchip,
        enforce_pv_cpuid: c.enforce,
        kvm_features: c.cpuid,
        guest_mode: 'real',
      },
      ops: r.ops,
    },
  }));
}

/** Every PV-MSR case: 16 configurations × the rows of each MSR. */
export function pvMsrCases(): PvCase[] {
  return pvConfigs.flatMap((c) => PV_MSRS.flatMap((m) => pvCasesOf(c, m)));
}
