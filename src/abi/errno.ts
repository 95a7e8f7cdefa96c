// Linux errno values (include/uapi/asm-generic/errno-base.h, errno.h). The model returns them negated, as
// the kernel does: `-ENOMEM`. The s390 model keeps its own list (src/s390/errno.ts) with the same values.

export const EFAULT = 14;
export const EIO = 5;
export const ENOMEM = 12;
export const EINVAL = 22;
