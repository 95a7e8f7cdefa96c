// The 'page ready' side of the guest: sysvec_kvm_asyncpf_interrupt at HYPERVISOR_CALLBACK_VECTOR
// (x86-apf §4.5), one step per instruction in the kernel's order — EOI; irq_hv_callback_count++; then,
// if this CPU has APF on: read the token; kvm_async_pf_task_wake(token); token := 0; WRMSR ACK = 1.
// The order is the protocol: the slot must be zero before the ACK, because the ACK makes the host
// rescan and it only writes a free slot (x86-apf §6.1 item 1). The order after the counter is the guest
// behaviour's `pageReadyHandler` (guest_behaviour.ts): the `ack-before-clear` bug swaps the last two, and a
// variant may reorder or drop instructions. Also the two other interrupts the model can see: the reschedule IPI and anything else (handled as
// spurious). The legacy guest installs no handler here: its 'page ready' is a #PF (legacy_pf.ts).
import { HYPERVISOR_CALLBACK_VECTOR } from '../../../abi/kvm_host.ts';
import { MSR_KVM_ASYNC_PF_ACK } from '../../../abi/kvm_para.ts';
import { noteVariant, variantNotes } from '../../../host/x86/kernel_fns.ts';
import type { KvmVcpu } from '../../../host/x86/vcpu.ts';
import { guestBehaviour, type PageReadyOp } from '../guest_behaviour.ts';
import { apfEnabled, apfReasonPa, clearApfToken, readApfToken } from './apf_reason.ts';
import type { LinuxGuestConfig } from './config.ts';
import type { GuestCtx } from './context.ts';
import { apic_eoi, guestWrmsr } from './guest_msr.ts';
import { RESCHEDULE_VECTOR } from './scheduler.ts';
import { ALLOC_FAILED, kvm_async_pf_task_wake } from './sleep_table.ts';
import {
  GSTEP_HANDLER,
  IRQ_ACK,
  IRQ_CLEAR_TOKEN,
  IRQ_EOI,
  IRQ_IRET,
  IRQ_NONE,
  IRQ_OTHER,
  IRQ_READ_TOKEN,
  IRQ_RESCHED,
  IRQ_STAT,
  IRQ_WAKE,
  type LinuxGuestState,
  packSaved,
  savedCpl,
  savedIf,
} from './state.ts';

/**
 * IDT vectoring of an external interrupt: save the interrupted IF and CPL (an interrupt that arrives
 * while L2 runs exits to L1 first, so the interrupted context is L1's kernel), enter at CPL 0, IF=0.
 */
export function enterInterrupt(g: GuestCtx, vcpu: KvmVcpu, vector: number): void {
  const st = g.state;
  const c = vcpu.vcpu_id;
  if (vcpu.guest_mode) {
    vcpu.guest_mode = false;
    st.cpu.irqSaved[c] = packSaved(true, 0);
  } else st.cpu.irqSaved[c] = packSaved(vcpu.rflags_if, vcpu.cpl);
  st.cpu.irqVector[c] = vector;
  st.cpu.irqToken[c] = 0;
  st.cpu.irqPc[c] =
    vector === HYPERVISOR_CALLBACK_VECTOR && st.sysvec_installed
      ? IRQ_EOI
      : vector === RESCHEDULE_VECTOR
        ? IRQ_RESCHED
        : IRQ_OTHER;
  vcpu.rflags_if = false;
  vcpu.cpl = 0;
  if (g.sink !== null) {
    let token = -1;
    let flags = -1;
    if (st.kvm_async_pf_enabled) {
      const pa = apfReasonPa(st.config, c);
      flags = g.vm.mem.readU32(pa);
      token = g.vm.mem.readU32(pa + 4);
    }
    g.sink.irq(c, vector, token, flags);
  }
}

function irqReturn(st: LinuxGuestState, vcpu: KvmVcpu): void {
  const c = vcpu.vcpu_id;
  const s = st.cpu.irqSaved[c]!;
  st.cpu.irqPc[c] = IRQ_NONE;
  vcpu.rflags_if = savedIf(s);
  vcpu.cpl = savedCpl(s);
}

const PC_OF: Readonly<Record<PageReadyOp, number>> = {
  read_token: IRQ_READ_TOKEN,
  wake: IRQ_WAKE,
  clear_token: IRQ_CLEAR_TOKEN,
  ack: IRQ_ACK,
};

/** The handler's next instruction after each one (index IRQ_STAT: the first); IRQ_NONE: return. */
function orderTable(ops: readonly PageReadyOp[]): Int8Array {
  const t = new Int8Array(IRQ_ACK + 1);
  let prev = IRQ_STAT;
  for (const op of ops) {
    t[prev] = PC_OF[op];
    prev = PC_OF[op];
  }
  return t;
}

const OP_AT = ['iret', 'eoi', 'stat', 'read_token', 'wake', 'clear_token', 'ack'];

/**
 * Per guest configuration: its order table, and where variants changed the order, the note a replay
 * shows at that instruction (the bug switches' order is the baseline: it is not a variant's doing).
 */
interface HandlerOrder {
  readonly next: Int8Array;
  readonly notes: readonly (string | null)[] | null;
}
const orders = new WeakMap<LinuxGuestConfig, HandlerOrder>();

let lastConfig: LinuxGuestConfig | null = null;
let lastOrder: HandlerOrder | null = null;

function handlerOrder(config: LinuxGuestConfig): HandlerOrder {
  // Every step of a handler asks: one guest configuration at a time is the common case.
  if (config === lastConfig) return lastOrder!;
  let o = orders.get(config);
  if (o === undefined) {
    const next = orderTable(guestBehaviour(config.bugs, config.variants).pageReadyHandler);
    let notes: (string | null)[] | null = null;
    const vs = (config.variants ?? []).filter((v) => v.guest !== undefined);
    if (vs.length > 0) {
      const base = orderTable(guestBehaviour(config.bugs).pageReadyHandler);
      const who = vs.map((v) => v.name).join(', ');
      notes = [];
      for (let pc = 0; pc < next.length; pc++)
        notes.push(
          next[pc] === base[pc]
            ? null
            : `variant ${who}: guest.pageReadyHandler: after ${OP_AT[pc]}, ${OP_AT[next[pc]!]} (the kernel: ${OP_AT[base[pc]!]})`,
        );
    }
    o = { next, notes };
    orders.set(config, o);
  }
  lastConfig = config;
  lastOrder = o;
  return o;
}

/** Moves the handler on from `pc`: to its next instruction, or returns from the interrupt when there is none. */
function goto(st: LinuxGuestState, vcpu: KvmVcpu, o: HandlerOrder, pc: number): void {
  const next = o.next[pc]!;
  if (o.notes !== null && variantNotes.into !== null) {
    const n = o.notes[pc];
    if (n !== null && n !== undefined) noteVariant(n);
  }
  if (next === IRQ_NONE) irqReturn(st, vcpu);
  else st.cpu.irqPc[vcpu.vcpu_id] = next;
}

/** One step of the interrupt frame on this CPU. */
export function stepInterrupt(g: GuestCtx, vcpu: KvmVcpu): void {
  const { vm, state: st } = g;
  const c = vcpu.vcpu_id;
  const cpu = st.cpu;
  const order = handlerOrder(st.config);
  const fx = vm.effects;
  fx.kind = GSTEP_HANDLER;
  switch (cpu.irqPc[c]) {
    case IRQ_EOI:
      apic_eoi(g, vcpu);
      cpu.irqPc[c] = IRQ_STAT;
      return;
    case IRQ_STAT:
      // inc_irq_stat(irq_hv_callback_count); if (__this_cpu_read(async_pf_enabled)) …
      cpu.irq_hv_callback_count[c] = cpu.irq_hv_callback_count[c]! + 1;
      if (apfEnabled(vm.mem, st.config, cpu.percpuEnabled, c)) goto(st, vcpu, order, IRQ_STAT);
      else irqReturn(st, vcpu); // EOI only: the slot stays busy until APF is enabled again
      return;
    case IRQ_READ_TOKEN:
      cpu.irqToken[c] = readApfToken(vm.mem, st.config, c);
      goto(st, vcpu, order, IRQ_READ_TOKEN);
      return;
    case IRQ_WAKE:
      g.wakerCpu = c;
      // On a failed dummy allocation the kernel relaxes and retries: stay on this instruction.
      if (kvm_async_pf_task_wake(st.sleepers, cpu.irqToken[c]!, c, g.wake) !== ALLOC_FAILED) {
        fx.wakes = true;
        fx.wakeToken = cpu.irqToken[c]!;
        goto(st, vcpu, order, IRQ_WAKE);
      }
      return;
    case IRQ_CLEAR_TOKEN:
      clearApfToken(vm.mem, st.config, c);
      goto(st, vcpu, order, IRQ_CLEAR_TOKEN);
      return;
    case IRQ_ACK: {
      const ok = guestWrmsr(g, vcpu, MSR_KVM_ASYNC_PF_ACK, 1n);
      st.counters.acks++;
      if (!ok) st.counters.ackFaults++;
      g.sink?.ack(c, 1, ok);
      // The last instruction: IRET on success; a #GP is delivered before the next step and must find the
      // handler still running. Otherwise the handler goes on.
      const n = order.next[IRQ_ACK]!;
      if (n !== IRQ_NONE) goto(st, vcpu, order, IRQ_ACK);
      else if (ok) irqReturn(st, vcpu);
      else cpu.irqPc[c] = IRQ_IRET;
      return;
    }
    case IRQ_RESCHED:
      // sysvec_reschedule_ipi: EOI, scheduler_ipi() → need_resched.
      apic_eoi(g, vcpu);
      cpu.needResched[c] = 1;
      cpu.reschedIpis[c] = cpu.reschedIpis[c]! + 1;
      irqReturn(st, vcpu);
      return;
    case IRQ_OTHER:
      // A vector with no handler (e.g. 0xf3 when APF was never enabled): spurious, EOI and return.
      apic_eoi(g, vcpu);
      cpu.spuriousIrqs[c] = cpu.spuriousIrqs[c]! + 1;
      irqReturn(st, vcpu);
      return;
    default:
      irqReturn(st, vcpu);
  }
}
