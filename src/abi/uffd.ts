// uapi: include/uapi/linux/userfaultfd.h, x86-64 (kvm-oracle §7). Constants and layouts only.

/** __NR_userfaultfd on x86-64. */
export const NR_userfaultfd = 323;

export const UFFD_API = 0xaa;
/** Report the faulting thread id (used to tell KVM's async worker from the vCPU thread). */
export const UFFD_FEATURE_THREAD_ID = 1 << 8;

export const UFFDIO_API = 0xc018aa3f; // _IOWR(UFFDIO, 0x3f, struct uffdio_api)
export const UFFDIO_REGISTER = 0xc020aa00; // _IOWR(UFFDIO, 0x00, struct uffdio_register)
export const UFFDIO_UNREGISTER = 0x8010aa01; // _IOR(UFFDIO, 0x01, struct uffdio_range)
export const UFFDIO_COPY = 0xc028aa03; // _IOWR(UFFDIO, 0x03, struct uffdio_copy)

export const UFFDIO_REGISTER_MODE_MISSING = 1;

/** uffd_msg.event for a page fault. */
export const UFFD_EVENT_PAGEFAULT = 0x12;
export const UFFD_PAGEFAULT_FLAG_WRITE = 1;

export const uffdio_api = { size: 24, api: 0, features: 8, ioctls: 16 } as const;
export const uffdio_range = { size: 16, start: 0, len: 8 } as const;
export const uffdio_register = { size: 32, start: 0, len: 8, mode: 16, ioctls: 24 } as const;
export const uffdio_copy = { size: 40, dst: 0, src: 8, len: 16, mode: 24, copy: 32 } as const; // copy: s64
/** struct uffd_msg (32 bytes), pagefault member. */
export const uffd_msg = { size: 32, event: 0, flags: 8, address: 16, ptid: 24 } as const;
