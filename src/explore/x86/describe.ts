// The explore world as named fields, for counterexamples: each step prints the fields it changed.
import { GFN_HASH_EMPTY, KVM_REQ_APF_HALT, KVM_REQ_APF_READY } from '../../abi/kvm_host.ts';
import {
  W_EXECUTED,
  W_NOTPRESENT_INJECTED,
  W_ON_DONE,
  W_WAKEUP_ALL,
  WORK_POOL_SIZE,
} from '../../host/x86/async_pf_work.ts';
import { canonicalSlots } from '../../host/x86/codec.ts';
import { kvm_mmu_root_valid } from '../../host/x86/kvm_mmu_page.ts';
import { kvm_apic_sw_enabled } from '../../host/x86/lapic.ts';
import { cacheOf, MC_COUNT, type MmuCachesVm } from '../../host/x86/mmu_caches_vm.ts';
import { NO_PRESSURE } from '../../host/x86/page_alloc.ts';
import type { KvmVcpu } from '../../host/x86/vcpu.ts';
import { gfnToGpa } from '../../mem/guest_memory.ts';
import { PAGE_HOST_RESIDENT, PAGE_SPTE_MAPPED } from '../../mem/page_state.ts';
import { ENV_KINDS } from './config.ts';
import { hex } from './guest_adapter.ts';
import { describeMaps } from './map_actor.ts';
import type { X86World } from './world.ts';

const MODES = ['outside', 'in-guest', 'exiting'];
const MP = ['runnable', 'uninit', 'init-received', 'halted'];
const slots = new Int32Array(WORK_POOL_SIZE);

function vectors(r: Uint32Array): string {
  const out: string[] = [];
  for (let v = 0; v < 256; v++) if ((r[v >>> 5]! >>> (v & 31)) & 1) out.push(hex(v));
  return out.join(',') || '-';
}

function describeVcpu(v: KvmVcpu, out: Record<string, string | number | boolean>): void {
  const p = `vcpu${v.vcpu_id}`;
  const req = [
    v.requests & KVM_REQ_APF_HALT ? 'APF_HALT' : '',
    v.requests & KVM_REQ_APF_READY ? 'APF_READY' : '',
  ]
    .filter(Boolean)
    .join('|');
  out[`${p}.run`] =
    `${MODES[v.mode]} ${MP[v.mp_state]}${v.apf.halted ? ' apf-halted' : ''}${v.sync_fault_gfn >= 0 ? ` sync-fault(${hex(v.sync_fault_gfn)})` : ''}` +
    ` IF=${v.rflags_if ? 1 : 0} CPL=${v.cpl} PG=${v.cr0_pg ? 1 : 0}${v.smm ? ' SMM' : ''}`;
  out[`${p}.requests`] = req || '-';
  const e = v.exception;
  out[`${p}.exception`] =
    e.pending || e.injected
      ? `${e.vector === 14 ? '#PF' : e.vector === 8 ? '#DF' : e.vector === 13 ? '#GP' : e.vector < 0 ? 'triple' : `vec ${e.vector}`}` +
        `${e.has_payload || e.vmexit ? ` cr2=${hex(e.payload)}` : ''}${e.vmexit ? ' (vmexit)' : ''}`
      : '-';
  out[`${p}.lapic`] =
    `${kvm_apic_sw_enabled(v.apic) ? 'on' : 'sw-off'} irr=${vectors(v.apic.irr)} isr=${vectors(v.apic.isr)}`;
  out[`${p}.apf`] =
    `en=${`0x${v.apf.msr_en_val.toString(16)}`} vec=${hex(v.apf.vec)}${v.apf.data.valid ? '' : ' (no cache)'}` +
    ` pageready_pending=${v.apf.pageready_pending ? 1 : 0}${v.apf.pageready_pending_store_buffered ? ' (store of 0 buffered)' : ''}`;
  const s = v.async_pf;
  const n = canonicalSlots(s, slots);
  const works: string[] = [];
  for (let k = 0; k < n; k++) {
    const i = slots[k]!;
    const f = s.wFlags[i]!;
    if (f & W_WAKEUP_ALL) works.push(`wakeup-all${f & W_ON_DONE ? '(done)' : ''}`);
    else
      works.push(
        `${hex(s.wToken[i]!)}@${hex(s.wGfn[i]!)}${f & W_NOTPRESENT_INJECTED ? '' : '(halt)'}${f & W_ON_DONE ? '(done)' : f & W_EXECUTED ? '(executed)' : ''}`,
      );
  }
  out[`${p}.works`] = works.join(' ') || '-';
  const gfns: number[] = [];
  for (const g of v.apf.gfns) if (g !== GFN_HASH_EMPTY) gfns.push(g);
  out[`${p}.gfns`] =
    gfns
      .sort((a, b) => a - b)
      .map(hex)
      .join(',') || '-';
}

export function describeWorld(w: X86World): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const v of w.vm.vcpus) describeVcpu(v, out);
  w.guest.describe(out);
  const st = w.vm.mem.pageState;
  out.pages = w.layout.pages
    .map(
      (g) =>
        `${hex(gfnToGpa(g))}:${st[g]! & PAGE_SPTE_MAPPED ? 'mapped' : st[g]! & PAGE_HOST_RESIDENT ? 'resident' : 'swapped'}`,
    )
    .join(' ');
  const env = ENV_KINDS.map((k, i) => (w.env[i]! > 0 ? `${k}=${w.env[i]}` : '')).filter(Boolean);
  if (env.length) out.env = env.join(' ');
  const m = w.vm.memcache;
  if (m !== null) describeMemcache(m, out);
  if (w.maps !== null) describeMaps(w.vm, w.maps, out);
  return out;
}

/** The memory-cache model (mmu.caches): fill levels per vCPU, tables present, allocator pressure. */
function describeMemcache(m: MmuCachesVm, out: Record<string, string | number | boolean>): void {
  for (let v = 0; v < m.caches.length; v++) {
    const fill: string[] = [];
    for (let c = 0; c < MC_COUNT; c++) {
      const mc = cacheOf(m.caches[v]!, c);
      if (mc !== null) fill.push(`${mc.name}=${mc.nobjs}`);
    }
    out[`vcpu${v}.caches`] =
      `${fill.join(' ')}${m.root_loaded[v] ? ' root' : ''}${m.run_error[v] ? ` KVM_RUN=${m.run_error[v]}` : ''}`;
  }
  out.page_tables = `${kvm_mmu_root_valid(m.pages) ? 'root' : 'no root'} + ${m.pages.count} below`;
  const a = m.alloc;
  out.host_alloc =
    a.grant === NO_PRESSURE ? 'ok' : `${a.grant} more, then ${a.fails < 0 ? 'every one' : a.fails} fail`;
  if (m.bug !== null) out.host_alloc = `${out.host_alloc}; host dead (BUG)`;
}
