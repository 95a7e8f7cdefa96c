// s390 GISA / GIB adapter-interruption alert mechanism: constants and struct layouts only, no logic.
// Spelling and values follow arch/s390/include/asm/{isc.h,kvm_host.h}, arch/s390/kvm/interrupt.c and the
// uapi arch/s390/include/uapi/asm/kvm.h (Linux 5.2 … 6.x). Spec: docs spec s390-gib §1, §2.

/** ISCs 0..7; ISC 0 has the highest priority (asm/isc.h). */
export const MAX_ISC = 7;
/** IPM/IAM (and CR6 ISC byte) bit of ISC n: IBM bit numbering, ISC 0 is the most significant bit. */
export const ISC_MASK = [0x80, 0x40, 0x20, 0x10, 0x08, 0x04, 0x02, 0x01] as const;
/** The vCPU's ISC enable byte is (u8)(gcr[6] >> CR6_ISC_SHIFT). */
export const CR6_ISC_SHIFT = 24;
/** Host ISC ("NISC") of the GIB alert adapter interruption, passed to kvm_s390_gib_init() (asm/isc.h). */
export const GAL_ISC = 5;

/** Alert-list origin "empty, GAL interruptions enabled". */
export const NULL_GISA_ADDR = 0x00000000;
/** Alert-list origin "host is processing the list; millicode must not raise a GAL". */
export const NONE_GISA_ADDR = 0x00000001;
/** An alert-list entry is a GISA address iff one of these bits is set. */
export const GISA_ADDR_MASK = 0xfffff000;

/** gi->expires: the kicker hrtimer period, 50 µs in ns (kvm_s390_gisa_init). */
export const GISA_KICKER_EXPIRES_NS = 50 * 1000;

/** struct kvm_s390_gisa is 32 bytes (u64 word[4]). */
export const KVM_S390_GISA_SIZE = 32;
/** struct kvm_s390_gib is 32 bytes, placed in a zeroed GFP_DMA page. */
export const KVM_S390_GIB_SIZE = 32;
/** Offset of the GISA inside struct sie_page2 (5.2). */
export const SIE_PAGE2_GISA_OFFSET = 0x900;
/** Offset of the kvm back-pointer inside struct sie_page2 (5.2). */
export const SIE_PAGE2_KVM_OFFSET = 0x920;

/** (MAX_ISC + 1) * 8 adapters. */
export const MAX_S390_IO_ADAPTERS = (MAX_ISC + 1) * 8;
/** 5.2 value. */
export const MAX_S390_ADAPTER_MAPS = 256;

/** CHSC "set GIB" command block (drivers/s390/cio/chsc.c chsc_sgib). gib_origin 0 dissociates. */
export const CHSC_SGIB_REQUEST_CODE = 0x0021;
export const CHSC_SGIB_REQUEST_LENGTH = 0x0fe0;
export const CHSC_SGIB_OPERATION = 0x1;

/** AI flag of the I/O interruption word; ISC sits in bits 0x38000000 (isc_to_int_word / int_word_to_isc). */
export const IO_INT_WORD_AI = 0x80000000;
export const IO_INT_WORD_ISC_MASK = 0x38000000;
export const IO_INT_WORD_ISC_SHIFT = 27;

/** uapi: KVM_S390_INT_IO(ai, cssid, ssid, schid); the AI bit of the interrupt type. */
export const KVM_S390_INT_IO_MIN = 0x00000000;
export const KVM_S390_INT_IO_MAX = 0xfffdffff;
export const KVM_S390_INT_IO_AI_MASK = 0x04000000;

/** uapi: bound on queued floating interrupts and on the FLIC GET_ALL_IRQS buffer. */
export const KVM_S390_MAX_FLOAT_IRQS = 266250;
export const KVM_S390_FLIC_MAX_BUFFER = 0x2000000;
/** sizeof(struct kvm_s390_irq): u64 type + 64-byte union. */
export const KVM_S390_IRQ_SIZE = 72;

/** SIE control-block cpuflags (asm/kvm_host.h). */
export const CPUSTAT_STOPPED = 0x80000000;
export const CPUSTAT_WAIT = 0x10000000;
export const CPUSTAT_ECALL_PEND = 0x08000000;
export const CPUSTAT_STOP_INT = 0x04000000;
export const CPUSTAT_IO_INT = 0x02000000;
export const CPUSTAT_EXT_INT = 0x01000000;

/** enum irq_types, ascending priority: the I/O classes (IPM byte is ORed in as ipm << IRQ_PEND_IO_ISC_7). */
export const IRQ_PEND_IO_ISC_7 = 3;
export const IRQ_PEND_IO_ISC_0 = 10;

/** A field of a C struct: byte offset and size. */
export interface AbiField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
}

/** struct kvm_s390_gisa, the fields common to all formats (the unit of cmpxchg is u64 word[0]). */
export const kvm_s390_gisa_layout: readonly AbiField[] = [
  { name: 'next_alert', offset: 0, size: 4 },
  { name: 'ipm', offset: 4, size: 1 },
  { name: 'reserved01', offset: 5, size: 2 },
  { name: 'iam', offset: 7, size: 1 },
];

/** struct kvm_s390_gisa, format 1 (simm/nimm are the AIS suppression masks used by zPCI AEN). */
export const kvm_s390_gisa_g1_layout: readonly AbiField[] = [
  { name: 'next_alert', offset: 0, size: 4 },
  { name: 'ipm', offset: 4, size: 1 },
  { name: 'simm', offset: 5, size: 1 },
  { name: 'nimm', offset: 6, size: 1 },
  { name: 'iam', offset: 7, size: 1 },
  { name: 'aism', offset: 8, size: 8 },
  { name: 'g_c', offset: 16, size: 1 },
  { name: 'reserved03', offset: 17, size: 11 },
  { name: 'airq_count', offset: 28, size: 4 },
];

/** Big-endian bit positions of u64 word[0] (bit 63 = MSB). */
export const GISA_WORD0_BITS = {
  next_alert: { hi: 63, lo: 32 },
  ipm: { hi: 31, lo: 24 },
  simm_nimm_or_reserved: { hi: 23, lo: 8 },
  iam: { hi: 7, lo: 0 },
} as const;

/** struct kvm_s390_gib. */
export const kvm_s390_gib_layout: readonly AbiField[] = [
  { name: 'alert_list_origin', offset: 0, size: 4 },
  { name: 'reserved01', offset: 4, size: 4 },
  { name: 'nisc', offset: 8, size: 1 }, // low 3 bits of the byte (u8 :5; u8 nisc:3)
  { name: 'reserved03', offset: 9, size: 3 },
  { name: 'reserved04', offset: 12, size: 20 },
];

/** A field of a kernel-internal (software) struct: name and C type; no ABI offsets. */
export interface SoftField {
  readonly name: string;
  readonly type: string;
}

/** struct kvm_s390_gisa_iam (5.2): the IAM restore value and the per-ISC registration counts. */
export const kvm_s390_gisa_iam_fields: readonly SoftField[] = [
  { name: 'mask', type: 'u8' },
  { name: 'ref_lock', type: 'spinlock_t' },
  { name: 'ref_count', type: 'u32[MAX_ISC + 1]' },
];

/** struct kvm_s390_gisa_interrupt (5.2); kvm_arch also has DECLARE_BITMAP(idle_mask, KVM_MAX_VCPUS). */
export const kvm_s390_gisa_interrupt_fields: readonly SoftField[] = [
  { name: 'origin', type: 'struct kvm_s390_gisa *' },
  { name: 'alert', type: 'struct kvm_s390_gisa_iam' },
  { name: 'timer', type: 'struct hrtimer' },
  { name: 'expires', type: 'u64' },
  { name: 'kicked_mask', type: 'DECLARE_BITMAP(KVM_MAX_VCPUS)' },
];
