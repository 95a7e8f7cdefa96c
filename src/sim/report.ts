// The human-readable report of a run: one column per VM group (a `vms` entry; its VMs summed) and one
// for the host total, one row per metric. `--json` prints RunMetrics instead, with every VM.
import type { Metrics, RunMetrics } from './metrics.ts';

/** Left column left-aligned, the others right-aligned. */
export function alignTable(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) for (let i = 0; i < r.length; i++) widths[i] = Math.max(widths[i] ?? 0, r[i]!.length);
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const fx = (x: number, d = 0): string =>
  x.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;
const us = (x: number | null): string =>
  x === null ? '–' : x >= 1000 ? `${fx(x / 1000, 2)} ms` : `${fx(x, 1)} µs`;

interface Row {
  label: string;
  cell: (m: Metrics, secs: number) => string;
}

/** The rows of the table, in order; blank label = a section break. */
export const REPORT_ROWS: readonly Row[] = [
  { label: 'vCPUs / tasks', cell: (m) => `${m.vcpus} / ${m.tasks}` },
  { label: 'guest work (task CPU s/s)', cell: (m) => fx(m.work.task_cpu_rate, 3) },
  { label: 'bursts/s', cell: (m) => fx(m.work.bursts_per_s) },
  { label: 'vCPU time: task', cell: (m) => pct(m.vcpu_time.task) },
  { label: '  guest kernel', cell: (m) => pct(m.vcpu_time.guest_kernel) },
  { label: '  APF handling + exits', cell: (m) => pct(m.vcpu_time.apf_exits) },
  { label: '  idle (HLT)', cell: (m) => pct(m.vcpu_time.idle) },
  { label: '  artificially halted', cell: (m) => pct(m.vcpu_time.apf_halted) },
  { label: '  blocked in sync fault', cell: (m) => pct(m.vcpu_time.sync_blocked) },
  { label: 'page-ins/s', cell: (m) => fx(m.faults.per_s) },
  { label: 'faults: synchronous', cell: (m) => fx(m.faults.sync) },
  { label: '  async attempted', cell: (m) => fx(m.faults.async_attempted) },
  { label: '  not-present injected', cell: (m) => fx(m.faults.not_present_injected) },
  { label: '  artificial halts', cell: (m) => fx(m.faults.apf_halts) },
  { label: '  repeated', cell: (m) => fx(m.faults.repeated) },
  { label: '  queue-full fallbacks', cell: (m) => fx(m.faults.queue_full_fallbacks) },
  { label: '  prefault re-faults', cell: (m) => fx(m.faults.prefault_sync) },
  { label: 'page-ready latency p50', cell: (m) => us(m.page_ready.p50_us) },
  { label: '  p95', cell: (m) => us(m.page_ready.p95_us) },
  { label: '  p99', cell: (m) => us(m.page_ready.p99_us) },
  { label: '  max', cell: (m) => us(m.page_ready.max_us) },
  { label: 'slot-busy delays (mean)', cell: (m) => `${fx(m.slot_busy.count)} (${us(m.slot_busy.mean_us)})` },
  { label: 'page-ready notifications', cell: (m) => fx(m.events.page_ready_notifications) },
  { label: 'ACKs', cell: (m) => fx(m.events.acks) },
  { label: 'wakeup-alls', cell: (m) => fx(m.events.wakeup_alls) },
  { label: 'VM exits/s', cell: (m, s) => fx(s > 0 ? m.events.exits / s : 0) },
  { label: 'APF queue per vCPU (mean/max)', cell: (m) => `${fx(m.apf_queue.mean, 2)} / ${m.apf_queue.max}` },
  {
    label: 'resident MiB / evictions',
    cell: (m) => `${fx(m.memory.resident_mib)} / ${fx(m.memory.evictions)}`,
  },
  { label: 'guest panics / warnings', cell: (m) => `${m.guest.panics} / ${m.guest.warnings}` },
];

/** The MMU-notifier rows, shown only when the run models them (`host.mmu_notifiers`: Metrics.mmu). */
export const MMU_REPORT_ROWS: readonly Row[] = [
  {
    label: 'MMU invalidations (hit memslot)',
    cell: (m) => (m.mmu ? `${fx(m.mmu.invalidations)} (${fx(m.mmu.invalidations_hit)})` : '–'),
  },
  {
    label: '  by source',
    cell: (m) => {
      if (!m.mmu) return '–';
      const parts = Object.entries(m.mmu.invalidations_by_source)
        .filter(([, n]) => n > 0)
        .map(([op, n]) => `${op} ${fx(n)}`);
      return parts.length > 0 ? parts.join(', ') : 'none';
    },
  },
  {
    label: '  SPTEs zapped / TLB flushes',
    cell: (m) => (m.mmu ? `${fx(m.mmu.sptes_zapped)} / ${fx(m.mmu.tlb_flushes)}` : '–'),
  },
  { label: '  refaults of reclaimed pages', cell: (m) => (m.mmu ? fx(m.mmu.refaults) : '–') },
  {
    label: '  refaults by source (exit ms)',
    cell: (m) => {
      if (!m.mmu) return '–';
      const ms = m.mmu.refault_exit_ms_by_source;
      const parts = Object.entries(m.mmu.refaults_by_source)
        .filter(([, n]) => n > 0)
        .map(([op, n]) => `${op} ${fx(n)} (${fx(ms[op as keyof typeof ms], 1)})`);
      return parts.length > 0 ? parts.join(', ') : 'none';
    },
  },
  {
    label: '  change_pte calls (SPTEs updated)',
    cell: (m) => (m.mmu ? `${fx(m.mmu.change_pte.calls)} (${fx(m.mmu.change_pte.sptes_updated)})` : '–'),
  },
  { label: '  guest faults per reclaim', cell: (m) => (m.mmu ? fx(m.mmu.faults_per_reclaim, 2) : '–') },
  {
    label: '  aging calls (young)',
    cell: (m) => (m.mmu ? `${fx(m.mmu.aging.calls)} (${fx(m.mmu.aging.young)})` : '–'),
  },
  {
    label: 'mmu_lock ms held / vCPUs waited',
    cell: (m) => (m.mmu ? `${fx(m.mmu.mmu_lock.hold_ms, 1)} / ${fx(m.mmu.mmu_lock.wait_ms, 2)}` : '–'),
  },
  {
    label: '  faults contended / host waited ms',
    cell: (m) => (m.mmu ? `${fx(m.mmu.mmu_lock.contended)} / ${fx(m.mmu.mmu_lock.host_wait_ms, 2)}` : '–'),
  },
  {
    label: 'fault retries range / seq / unsafe',
    cell: (m) =>
      m.mmu ? `${fx(m.mmu.retries.range)} / ${fx(m.mmu.retries.seq)} / ${fx(m.mmu.retries.unsafe)}` : '–',
  },
];

/** The KSM rows, shown only when the host runs KSM (`host.ksm`: Metrics.ksm). */
export const KSM_REPORT_ROWS: readonly Row[] = [
  {
    label: 'KSM pages scanned / merged / COW-broken',
    cell: (m) =>
      m.ksm ? `${fx(m.ksm.pages_scanned)} / ${fx(m.ksm.pages_merged)} / ${fx(m.ksm.cow_breaks)}` : '–',
  },
];

/** The NUMA-balancing rows, shown only when it is on (`host.numa_balancing`: Metrics.numa). */
export const NUMA_REPORT_ROWS: readonly Row[] = [
  {
    label: 'NUMA scans / pages protected',
    cell: (m) => (m.numa ? `${fx(m.numa.scans)} / ${fx(m.numa.pages_protected)}` : '–'),
  },
  {
    label: '  hinting faults / migrations',
    cell: (m) => (m.numa ? `${fx(m.numa.hinting_faults)} / ${fx(m.numa.migrations)}` : '–'),
  },
];

/** The compaction row, shown only with host.compaction. */
export const COMPACTION_REPORT_ROWS: readonly Row[] = [
  {
    label: 'compaction: pages migrated',
    cell: (m) => (m.compaction ? fx(m.compaction.pages_migrated) : '–'),
  },
];

/** The THP rows, shown only when the host has THP (`host.thp`: Metrics.thp). */
export const THP_REPORT_ROWS: readonly Row[] = [
  {
    label: 'THP ranges scanned / collapsed / split',
    cell: (m) => (m.thp ? `${fx(m.thp.ranges_scanned)} / ${fx(m.thp.collapses)} / ${fx(m.thp.splits)}` : '–'),
  },
  {
    label: '  2 MiB mappings / huge SPTEs zapped',
    cell: (m) => (m.thp ? `${fx(m.thp.huge_mappings)} / ${fx(m.thp.huge_sptes_zapped)}` : '–'),
  },
  {
    label: '  ranges left for swap-in (not modelled)',
    cell: (m) => (m.thp ? fx(m.thp.swap_skipped) : '–'),
  },
  {
    label: '  ranges with no young SPTE (not collapsed)',
    cell: (m) => (m.thp ? fx(m.thp.lack_referenced) : '–'),
  },
];

/** The memory-cache rows, shown only with `host.mmu_caches` (Metrics.memcache). */
export const MEMCACHE_REPORT_ROWS: readonly Row[] = [
  {
    label: 'MMU cache topups (failed)',
    cell: (m) => (m.memcache ? `${fx(m.memcache.topups)} (${fx(m.memcache.topup_failures)})` : '–'),
  },
  {
    label: '  objects allocated / freed',
    cell: (m) => (m.memcache ? `${fx(m.memcache.objects_allocated)} / ${fx(m.memcache.objects_freed)}` : '–'),
  },
  {
    label: '  page tables / empty-cache allocs',
    cell: (m) => (m.memcache ? `${fx(m.memcache.page_tables)} / ${fx(m.memcache.empty_cache_allocs)}` : '–'),
  },
  {
    label: '  topups that allocated / max objects per fault',
    cell: (m) =>
      m.memcache ? `${fx(m.memcache.topups_allocating)} / ${fx(m.memcache.max_objects_per_fault)}` : '–',
  },
  {
    label: '  idle cache KiB per vCPU',
    cell: (m) => (m.memcache ? fx(m.memcache.idle_bytes_per_vcpu / 1024, 1) : '–'),
  },
];

export function formatReport(r: RunMetrics): string {
  const gs = r.groups;
  const secs = r.measured_s;
  const cols = [
    ...gs.map((g) => ({
      head: `${g.name} (${g.apf}${g.variants ? `, variants: ${g.variants.join('+')}` : ''})`,
      m: g as Metrics,
    })),
    ...(gs.length > 1 ? [{ head: 'total', m: r.total }] : []),
  ];
  const rows: string[][] = [['', ...cols.map((c) => c.head)]];
  const table = [
    ...REPORT_ROWS,
    ...(r.total.mmu ? MMU_REPORT_ROWS : []),
    ...(r.total.ksm ? KSM_REPORT_ROWS : []),
    ...(r.total.numa ? NUMA_REPORT_ROWS : []),
    ...(r.total.thp ? THP_REPORT_ROWS : []),
    ...(r.total.compaction ? COMPACTION_REPORT_ROWS : []),
    ...(r.total.memcache ? MEMCACHE_REPORT_ROWS : []),
  ];
  for (const row of table) rows.push([row.label, ...cols.map((c) => row.cell(c.m, secs))]);
  const sw = r.host.swap;
  const lines = [
    `${r.scenario}: seed ${r.seed}, ${fx(r.simulated_s, 3)} s simulated, ${fx(secs, 3)} s measured`,
    '',
    alignTable(rows),
    '',
    `host: RAM ${fx(r.host.ram_mib)} MiB, resident ${fx(r.host.resident_mib)} MiB; swap: ${sw.channels} channel(s), ` +
      `utilization ${pct(sw.utilization)}, queue mean ${fx(sw.mean_queue, 2)} max ${sw.max_queue}, ` +
      `wait p99 ${us(sw.wait.p99_us)}, service p50 ${us(sw.service.p50_us)}`,
  ];
  const st = r.steady_state;
  if (st)
    lines.push(st.reached ? `steady state: yes (${st.note})` : `warning: not at steady state: ${st.note}`);
  const k = r.host.ksm;
  if (k)
    lines.push(
      `ksm: pages_shared ${fx(k.pages_shared)}, pages_sharing ${fx(k.pages_sharing)} (${fx(k.saved_mib)} MiB saved), ` +
        `full_scans ${fx(k.full_scans)}, pages scanned ${fx(k.pages_scanned)}`,
    );
  const t = r.host.thp;
  if (t)
    lines.push(
      `thp: ${fx(t.huge_ranges)} huge ranges (${fx(t.huge_mib)} MiB) at the end, ` +
        `khugepaged full_scans ${fx(t.full_scans)}, pages_collapsed ${fx(t.pages_collapsed)}`,
    );
  return `${lines.join('\n')}\n`;
}
