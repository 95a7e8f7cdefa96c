// The kernel's answers. Guest- or user-controlled bad input is never an exception in the model: it gets the
// negative errno the kernel returns, and the script transcript prints it as "-EBUSY" etc.

export const EIO = 5;
export const ENOMEM = 12;
export const EBUSY = 16;
export const ENODEV = 19;
export const EINVAL = 22;
export const ERANGE = 34;
export const EOPNOTSUPP = 95;
export const ENOBUFS = 105;

const NAMES: Record<number, string> = {
  [EIO]: 'EIO',
  [ENOMEM]: 'ENOMEM',
  [EBUSY]: 'EBUSY',
  [ENODEV]: 'ENODEV',
  [EINVAL]: 'EINVAL',
  [ERANGE]: 'ERANGE',
  [EOPNOTSUPP]: 'EOPNOTSUPP',
  [ENOBUFS]: 'ENOBUFS',
};

/** `-EBUSY` for -16; "ok" for any non-negative return value. */
export function rcName(rc: number): string {
  if (rc >= 0) return 'ok';
  return `-${NAMES[-rc] ?? String(-rc)}`;
}
