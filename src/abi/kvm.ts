// uapi: include/uapi/linux/kvm.h and arch/x86/include/uapi/asm/kvm.h, x86-64, as printed on the
// reference host (kernel 6.18.44; kvm-oracle §7). Ioctl numbers, capability numbers, exit reasons and
// struct layouts (byte offsets) only: no logic. test/oracle/abi.test.ts re-derives every ioctl number
// from _IOC.

/** The value KVM_GET_API_VERSION has returned since Linux 2.6.22. */
export const KVM_API_VERSION = 12;

// System ioctls (on /dev/kvm).
export const KVM_GET_API_VERSION = 0xae00; // _IO(KVMIO, 0x00)
export const KVM_CREATE_VM = 0xae01; // _IO(KVMIO, 0x01), arg: machine type 0
export const KVM_GET_MSR_INDEX_LIST = 0xc004ae02; // _IOWR(KVMIO, 0x02, struct kvm_msr_list)
export const KVM_CHECK_EXTENSION = 0xae03; // _IO(KVMIO, 0x03), arg: capability; also on a VM fd
export const KVM_GET_VCPU_MMAP_SIZE = 0xae04; // _IO(KVMIO, 0x04)
export const KVM_GET_SUPPORTED_CPUID = 0xc008ae05; // _IOWR(KVMIO, 0x05, struct kvm_cpuid2)

// VM ioctls.
export const KVM_CREATE_VCPU = 0xae41; // _IO(KVMIO, 0x41), arg: vcpu id
export const KVM_SET_USER_MEMORY_REGION = 0x4020ae46; // _IOW(KVMIO, 0x46, kvm_userspace_memory_region)
export const KVM_CREATE_IRQCHIP = 0xae60; // _IO(KVMIO, 0x60); must precede KVM_CREATE_VCPU

// vCPU ioctls.
export const KVM_RUN = 0xae80; // _IO(KVMIO, 0x80)
export const KVM_GET_REGS = 0x8090ae81; // _IOR(KVMIO, 0x81, struct kvm_regs)
export const KVM_SET_REGS = 0x4090ae82; // _IOW(KVMIO, 0x82, struct kvm_regs)
export const KVM_GET_SREGS = 0x8138ae83; // _IOR(KVMIO, 0x83, struct kvm_sregs)
export const KVM_SET_SREGS = 0x4138ae84; // _IOW(KVMIO, 0x84, struct kvm_sregs)
/** Both return the number of MSRs processed: they stop at the first one that fails. */
export const KVM_GET_MSRS = 0xc008ae88; // _IOWR(KVMIO, 0x88, struct kvm_msrs)
export const KVM_SET_MSRS = 0x4008ae89; // _IOW(KVMIO, 0x89, struct kvm_msrs)
export const KVM_GET_LAPIC = 0x8400ae8e; // _IOR(KVMIO, 0x8e, struct kvm_lapic_state)
export const KVM_SET_LAPIC = 0x4400ae8f; // _IOW(KVMIO, 0x8f, struct kvm_lapic_state)
/** sizeof(struct kvm_lapic_state): the 1 KiB register page (KVM_APIC_REG_SIZE). */
export const KVM_APIC_REG_SIZE = 0x400;
export const KVM_SET_CPUID2 = 0x4008ae90; // _IOW(KVMIO, 0x90, struct kvm_cpuid2)
export const KVM_GET_MP_STATE = 0x8004ae98; // _IOR(KVMIO, 0x98, struct kvm_mp_state)
export const KVM_SET_MP_STATE = 0x4004ae99; // _IOW(KVMIO, 0x99, struct kvm_mp_state)
/** On a VM fd (e.g. KVM_CAP_X86_DISABLE_EXITS) or a vCPU fd (KVM_CAP_ENFORCE_PV_FEATURE_CPUID). */
export const KVM_ENABLE_CAP = 0x4068aea3; // _IOW(KVMIO, 0xa3, struct kvm_enable_cap)
/**
 * On a VM or vCPU fd (Linux 5.14+): returns a read-only fd of binary statistics, read with pread:
 * kvm_stats_header, then kvm_stats_desc entries, then the u64 data (Documentation/virt/kvm/api.rst 4.133).
 */
export const KVM_GET_STATS_FD = 0xaece; // _IO(KVMIO, 0xce)

/** Capabilities (KVM_CHECK_EXTENSION arguments). */
export const KVM_CAP_IRQCHIP = 0;
export const KVM_CAP_NR_VCPUS = 9;
export const KVM_CAP_MAX_VCPUS = 66;
export const KVM_CAP_ASYNC_PF = 59;
export const KVM_CAP_X86_DISABLE_EXITS = 143;
export const KVM_CAP_ASYNC_PF_INT = 183;
export const KVM_CAP_X86_USER_SPACE_MSR = 188;
export const KVM_CAP_ENFORCE_PV_FEATURE_CPUID = 190;
export const KVM_CAP_BINARY_STATS_FD = 203;

/** struct kvm_stats_header (24 bytes): u32 fields. */
export const kvm_stats_header = {
  size: 24,
  flags: 0,
  name_size: 4,
  num_desc: 8,
  id_offset: 12,
  desc_offset: 16,
  data_offset: 20,
} as const;
/** struct kvm_stats_desc: a fixed part, then `name_size` bytes of NUL-terminated name. */
export const kvm_stats_desc = {
  size: 16,
  flags: 0,
  exponent: 4,
  count: 6,
  offset: 8,
  bucket_size: 12,
  name: 16,
} as const;

/** struct kvm_mp_state.mp_state values; KVM keeps the same values in vcpu->arch.mp_state. */
export const KVM_MP_STATE_RUNNABLE = 0;
/** An AP under an in-kernel irqchip starts here, waiting for INIT/SIPI. */
export const KVM_MP_STATE_UNINITIALIZED = 1;
export const KVM_MP_STATE_INIT_RECEIVED = 2;
export const KVM_MP_STATE_HALTED = 3;

/** KVM_CAP_X86_DISABLE_EXITS argument bits. */
export const KVM_X86_DISABLE_EXITS_HLT = 1 << 1;

/** kvm_run.exit_reason values. */
export const KVM_EXIT_UNKNOWN = 0;
export const KVM_EXIT_IO = 2;
export const KVM_EXIT_HLT = 5;
export const KVM_EXIT_MMIO = 6;
export const KVM_EXIT_SHUTDOWN = 8;
export const KVM_EXIT_FAIL_ENTRY = 9;
export const KVM_EXIT_INTR = 10;
export const KVM_EXIT_INTERNAL_ERROR = 17;

/** struct kvm_run, the mmap of a vCPU fd (KVM_GET_VCPU_MMAP_SIZE bytes; 12288 on the reference host). */
export const kvm_run = {
  request_interrupt_window: 0, // u8
  immediate_exit: 1, // u8
  exit_reason: 8, // u32
  ready_for_interrupt_injection: 12, // u8
  if_flag: 13, // u8
  flags: 14, // u16
  cr8: 16, // u64
  apic_base: 24, // u64
  /** The exit-specific union starts here. */
  io: { direction: 32, size: 33, port: 34, count: 36, data_offset: 40 }, // direction 1 = out
  mmio: { phys_addr: 32, data: 40, len: 48, is_write: 52 },
  internal: { suberror: 32, ndata: 36, data: 40 }, // data: u64[]
  fail_entry: { hardware_entry_failure_reason: 32, cpu: 40 },
} as const;
export const KVM_EXIT_IO_OUT = 1;

/** struct kvm_userspace_memory_region (32 bytes). */
export const kvm_userspace_memory_region = {
  size: 32,
  slot: 0, // u32
  flags: 4, // u32
  guest_phys_addr: 8, // u64
  memory_size: 16, // u64
  userspace_addr: 24, // u64
} as const;

/** struct kvm_regs (144 bytes): 18 u64 in this order. */
export const KVM_REGS_ORDER = [
  'rax',
  'rbx',
  'rcx',
  'rdx',
  'rsi',
  'rdi',
  'rsp',
  'rbp',
  'r8',
  'r9',
  'r10',
  'r11',
  'r12',
  'r13',
  'r14',
  'r15',
  'rip',
  'rflags',
] as const;
export type KvmRegName = (typeof KVM_REGS_ORDER)[number];
export const kvm_regs = { size: 144 } as const;

/** struct kvm_segment (24 bytes). */
export const kvm_segment = {
  size: 24,
  base: 0, // u64
  limit: 8, // u32
  selector: 12, // u16
  type: 14, // u8 fields from here on
  present: 15,
  dpl: 16,
  db: 17,
  s: 18,
  l: 19,
  g: 20,
  avl: 21,
  unusable: 22,
} as const;

/** struct kvm_dtable (16 bytes). */
export const kvm_dtable = { size: 16, base: 0, limit: 8 } as const; // base u64, limit u16

/** struct kvm_sregs (312 bytes). */
export const kvm_sregs = {
  size: 312,
  cs: 0,
  ds: 24,
  es: 48,
  fs: 72,
  gs: 96,
  ss: 120,
  tr: 144,
  ldt: 168,
  gdt: 192,
  idt: 208,
  cr0: 224,
  cr2: 232,
  cr3: 240,
  cr4: 248,
  cr8: 256,
  efer: 264,
  apic_base: 272,
  interrupt_bitmap: 280, // u64[4]
} as const;
export type KvmSegmentName = 'cs' | 'ds' | 'es' | 'fs' | 'gs' | 'ss' | 'tr' | 'ldt';

/** struct kvm_cpuid2 header and struct kvm_cpuid_entry2 (40 bytes). */
export const kvm_cpuid2 = { nent: 0, entries: 8 } as const;
export const kvm_cpuid_entry2 = {
  size: 40,
  function: 0,
  index: 4,
  flags: 8,
  eax: 12,
  ebx: 16,
  ecx: 20,
  edx: 24,
} as const;

/** struct kvm_msrs header and struct kvm_msr_entry (16 bytes). */
export const kvm_msrs = { nmsrs: 0, entries: 8 } as const;
export const kvm_msr_entry = { size: 16, index: 0, data: 8 } as const; // index u32, data u64

/** struct kvm_enable_cap (104 bytes). */
export const kvm_enable_cap = { size: 104, cap: 0, flags: 4, args: 8 } as const; // args: u64[4]

/** x86 MSR the long-mode guest's setup writes through KVM_SET_MSRS (arch/x86/include/asm/msr-index.h). */
export const MSR_STAR = 0xc0000081;
