// koffi bindings to the few libc functions the real-KVM backend needs. koffi is an optional dependency,
// so it is loaded with a dynamic import: a missing or broken koffi is a probe failure, never a crash.
//
// Why non-variadic aliases: ioctl(2) and syscall(2) are variadic in C, and koffi's variadic functions
// have no `.async()` (kvm-oracle §6, pitfall 1). On the x86-64 SysV ABI a call with integer/pointer
// arguments is the same either way, so each argument shape gets its own fixed-signature alias.

/** koffi's opaque pointer value (an External). */
export type Pointer = unknown;

export interface Libc {
  /** open(2) with a fixed mode argument. Returns -1 and sets errno on failure. */
  open(path: string, flags: number): number;
  close(fd: number): number;
  read(fd: number, buf: Buffer, len: number): number;
  /** pread(2): `len` bytes at file offset `offset` (the KVM binary statistics fd). */
  pread(fd: number, buf: Buffer, len: number, offset: number): number;
  /** ioctl(fd, req, ptr): struct arguments are Buffers, written in place by the kernel. */
  ioctlPtr(fd: number, req: number, buf: Buffer | null): number;
  /** ioctl(fd, req, n): integer arguments (capability numbers, vcpu ids). */
  ioctlUl(fd: number, req: number, arg: number | bigint): number;
  /** ioctl(fd, req, n) on a libuv worker thread: KVM_RUN blocks, and the JS thread must stay free. */
  ioctlUlAsync(fd: number, req: number, arg: number): Promise<number>;
  /** ioctl(fd, req, ptr) on a libuv worker thread (KVM_SET_MSRS may wait for an async PF worker). */
  ioctlPtrAsync(fd: number, req: number, buf: Buffer): Promise<number>;
  mmap(len: number, prot: number, flags: number, fd: number, offset: number): Pointer | null;
  munmap(addr: bigint, len: number): number;
  madvise(addr: bigint, len: number, advice: number): number;
  mprotect(addr: bigint, len: number, prot: number): number;
  /** mount(2) with no data argument (tracefs for the notifier measurement). */
  mount(source: string, target: string, fstype: string, flags: number): number;
  umount2(target: string, flags: number): number;
  mincore(addr: bigint, len: number, vec: Buffer): number;
  syscall1(nr: number, arg: number): number;
  /** errno of the last failed synchronous call on this thread. */
  errno(): number;
  /** The address of a pointer returned by mmap. */
  address(p: Pointer): bigint;
  /** A zero-copy ArrayBuffer over native memory. Invalid after munmap: drop it first (pitfall 3). */
  view(p: Pointer, len: number): ArrayBuffer;
  /** Calls `cb` on the JS thread whenever `fd` is readable (a libuv poll handle). */
  pollReadable(fd: number, cb: () => void): { close(): void };
}

// <sys/mman.h>, <fcntl.h>
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_ANONYMOUS = 0x20;
export const MAP_NORESERVE = 0x4000;
export const MADV_DONTNEED = 4;
export const MADV_MERGEABLE = 12;
export const MADV_NOHUGEPAGE = 15;
export const O_RDWR = 2;
export const O_NONBLOCK = 0o4000;
export const O_CLOEXEC = 0o2000000;
const MAP_FAILED = 0xffffffffffffffffn;

let cached: Promise<Libc | { error: string }> | undefined;

/** Loads koffi and binds libc once per process. Resolves to `{ error }` instead of throwing. */
export function loadLibc(): Promise<Libc | { error: string }> {
  cached ??= bind();
  return cached;
}

async function bind(): Promise<Libc | { error: string }> {
  // biome-ignore lint/suspicious/noExplicitAny: koffi's typings are loose; this module is the boundary.
  let koffi: any;
  try {
    koffi = (await import('koffi')).default;
  } catch (e) {
    return { error: `koffi cannot be loaded (${(e as Error).message.split('\n')[0]})` };
  }
  try {
    const libc = koffi.load('libc.so.6');
    const open = libc.func('open', 'int', ['str', 'int', 'int']);
    const close = libc.func('int close(int fd)');
    const read = libc.func('long read(int fd, void *buf, unsigned long n)');
    const pread = libc.func('long pread(int fd, void *buf, unsigned long n, long off)');
    const ioctlPtr = libc.func('ioctl', 'int', ['int', 'unsigned long', 'void *']);
    const ioctlUl = libc.func('ioctl', 'int', ['int', 'unsigned long', 'unsigned long']);
    const mmap = libc.func(
      'void *mmap(void *addr, unsigned long len, int prot, int flags, int fd, long off)',
    );
    const munmap = libc.func('int munmap(unsigned long addr, unsigned long len)');
    const madvise = libc.func('int madvise(unsigned long addr, unsigned long len, int advice)');
    const mprotect = libc.func('int mprotect(unsigned long addr, unsigned long len, int prot)');
    const mount = libc.func(
      'int mount(const char *src, const char *target, const char *fstype, unsigned long flags, void *data)',
    );
    const umount2 = libc.func('int umount2(const char *target, int flags)');
    const mincore = libc.func('int mincore(unsigned long addr, unsigned long len, void *vec)');
    const syscall1 = libc.func('syscall', 'long', ['long', 'long']);
    return {
      open: (path, flags) => open(path, flags, 0),
      close: (fd) => close(fd),
      read: (fd, buf, len) => Number(read(fd, buf, len)),
      pread: (fd, buf, len, offset) => Number(pread(fd, buf, len, offset)),
      ioctlPtr: (fd, req, buf) => ioctlPtr(fd, req, buf),
      ioctlUl: (fd, req, arg) => ioctlUl(fd, req, arg),
      ioctlUlAsync: (fd, req, arg) =>
        new Promise((resolve, reject) =>
          ioctlUl.async(fd, req, arg, (err: unknown, res: number) => (err ? reject(err) : resolve(res))),
        ),
      ioctlPtrAsync: (fd, req, buf) =>
        new Promise((resolve, reject) =>
          ioctlPtr.async(fd, req, buf, (err: unknown, res: number) => (err ? reject(err) : resolve(res))),
        ),
      mmap: (len, prot, flags, fd, offset) => {
        const p = mmap(null, len, prot, flags, fd, offset);
        return p === null || koffi.address(p) === MAP_FAILED ? null : p;
      },
      munmap: (addr, len) => munmap(addr, len),
      madvise: (addr, len, advice) => madvise(addr, len, advice),
      mprotect: (addr, len, prot) => mprotect(addr, len, prot),
      mount: (source, target, fstype, flags) => mount(source, target, fstype, flags, null),
      umount2: (target, flags) => umount2(target, flags),
      mincore: (addr, len, vec) => mincore(addr, len, vec),
      syscall1: (nr, arg) => Number(syscall1(nr, arg)),
      errno: () => koffi.errno(),
      address: (p) => koffi.address(p),
      view: (p, len) => koffi.view(p, len),
      pollReadable: (fd, cb) => {
        // koffi 3.3.4 calls back with (status, events), although its typings declare (events).
        const h = koffi.node.poll(fd, { readable: true }, (status: unknown, ev?: { readable?: boolean }) => {
          const events = typeof status === 'object' ? (status as { readable?: boolean }) : ev;
          if (events?.readable) cb();
        });
        return { close: () => h.close() };
      },
    };
  } catch (e) {
    return { error: `koffi cannot bind libc (${(e as Error).message.split('\n')[0]})` };
  }
}
