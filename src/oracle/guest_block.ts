// Host-side accessors for a vCPU's block in the guests' private memslot (layout: protocol.inc). The
// host writes an op and the handler options before resuming the vCPU, and reads results and event
// details when the guest reports.
import { protocol as P } from './guests/blobs.ts';
import type { HostMapping } from './host_mapping.ts';

export interface OpRequest {
  opcode: number;
  a?: bigint;
  b?: bigint;
  c?: number;
  /** OP_HYPERCALL: a0..a3 (PC_HC_ARGS). */
  args?: readonly bigint[];
}

export interface HandlerConfig {
  /** HF_* bits. */
  flags: number;
  ackValue: bigint;
}

export class GuestBlock {
  constructor(
    private readonly priv: HostMapping,
    private readonly offset: number,
  ) {}

  private get dv(): DataView {
    return this.priv.dv;
  }

  private u32(field: number): number {
    return this.dv.getUint32(this.offset + field, true);
  }

  private u64(field: number): bigint {
    return this.dv.getBigUint64(this.offset + field, true);
  }

  private setU32(field: number, v: number): void {
    this.dv.setUint32(this.offset + field, v >>> 0, true);
  }

  private setU64(field: number, v: bigint): void {
    this.dv.setBigUint64(this.offset + field, BigInt.asUintN(64, v), true);
  }

  /** Everything the guest reads for the next op. `area` null = no area known (the guest reads none). */
  writeOp(req: OpRequest, area: bigint | null, prVector: number | null, handlers: HandlerConfig): void {
    this.setU32(P.PC_OP, req.opcode);
    this.setU64(P.PC_ARG_A, req.a ?? 0n);
    this.setU64(P.PC_ARG_B, req.b ?? 0n);
    this.setU32(P.PC_ARG_C, req.c ?? 0);
    if (req.args) for (let k = 0; k < 4; k++) this.setU64(P.PC_HC_ARGS + 8 * k, req.args[k] ?? 0n);
    this.setU64(P.PC_AREA, area ?? 0n);
    this.setU32(P.PC_AREA_VALID, area === null ? 0 : 1);
    this.setU32(P.PC_PR_VEC, prVector ?? 0x100);
    this.setU32(P.PC_HFLAGS, handlers.flags);
    this.setU64(P.PC_ACK_VAL, handlers.ackValue);
    this.setU32(P.PC_RUN_STOP, 0);
    this.setU32(P.PC_ABANDONED, 0);
  }

  stopRun(): void {
    this.setU32(P.PC_RUN_STOP, 1);
  }

  result(): bigint {
    return this.u64(P.PC_RESULT);
  }

  irq(): { flags: number; token: number } {
    return { flags: this.u32(P.PC_IRQ_FLAGS), token: this.u32(P.PC_IRQ_TOKEN) };
  }

  pageFault(): { cr2: bigint; errorCode: bigint; flags: number } {
    return { cr2: this.u64(P.PC_PF_CR2), errorCode: this.u64(P.PC_PF_ERR), flags: this.u32(P.PC_PF_FLAGS) };
  }

  /** A `retry: false` touch gave up on its access after a "page not present" #PF. */
  abandoned(): boolean {
    return this.u32(P.PC_ABANDONED) !== 0;
  }

  panic(): { vector: number; rip: bigint; errorCode: bigint } {
    return {
      vector: this.u32(P.PC_PANIC_VEC),
      rip: this.u64(P.PC_PANIC_RIP),
      errorCode: this.u64(P.PC_PANIC_ERR),
    };
  }
}
