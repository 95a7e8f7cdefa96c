// The `kind: script`, `arch: s390` scenario format, validated with zod (strict objects: unknown fields are
// errors). Every op is an object whose `op` field names it; docs/s390.md documents each one.
import { z } from 'zod';
import { MAX_ISC } from '../abi/s390_gisa.ts';
import { STRATEGIES } from '../s390/strategy.ts';
import { MAX_MODEL_VCPUS } from '../s390/world.ts';
import { withInputSide } from '../scenario/values.ts';

const hexString = (digits: number) =>
  z.string().regex(new RegExp(`^0x[0-9a-fA-F]{1,${digits}}$`), 'a hex string like 0x02');
/** A mask byte: 0..255 or "0x.." (YAML also reads 0x02 as the number 2). */
const byte = z
  .union([z.number().int().min(0).max(255), hexString(2)])
  .transform((v) => (typeof v === 'string' ? Number.parseInt(v, 16) : v));
/** A vCPU bitmap or 32-bit word. */
const word = z
  .union([z.number().int().min(0).max(0xffffffff), hexString(8)])
  .transform((v) => (typeof v === 'string' ? Number.parseInt(v, 16) : v));
const isc = z.number().int().min(0).max(MAX_ISC);
const vmName = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_-]*$/, 'a VM name (letter, then letters, digits, _ or -)');
const vcpuIdx = z
  .number()
  .int()
  .min(0)
  .max(MAX_MODEL_VCPUS - 1);
const note = z.string().optional();
/** The result the script author expects from this op ("ok", "-EBUSY", "blocked", …); a difference is flagged. */
const want = z.string().optional();
/** YAML reads a bare NULL as null; expectations mean the NULL_GISA_ADDR / NULL pointer by it. */
const nullable = <T extends z.ZodType>(t: T) =>
  withInputSide(
    z.preprocess((v) => (v === null ? 'NULL' : v), t),
    z.union([z.null(), t]),
  );

const onVm = { vm: vmName, note, want };
const onVcpu = { vm: vmName, vcpu: vcpuIdx, note, want };

const expectFields = {
  // host / GIB
  alert_list_origin: nullable(z.string()).optional(),
  gal_pending: z.boolean().optional(),
  gib: nullable(z.enum(['present', 'NULL'])).optional(),
  kvm_loaded: z.boolean().optional(),
  adapter_registered: z.boolean().optional(),
  chsc_associated: z.boolean().optional(),
  gal_count: z.number().int().min(0).optional(),
  gal_raised: z.number().int().min(0).optional(),
  xchg: z.number().int().min(0).optional(),
  // VM / GISA / gisa_interrupt
  origin: nullable(z.enum(['NULL', 'set'])).optional(),
  ipm: byte.optional(),
  iam: byte.optional(),
  mask: byte.optional(),
  listed: z.boolean().optional(),
  next_alert: nullable(z.string()).optional(),
  ref_count: z
    .array(z.number().int().min(0))
    .length(MAX_ISC + 1)
    .optional(),
  idle_mask: word.optional(),
  kicked_mask: word.optional(),
  timer: z.enum(['armed', 'inactive']).optional(),
  timer_in_ns: z.number().int().min(0).optional(),
  float_pending: byte.optional(),
  io_counter: z.number().int().min(0).optional(),
  destroy: z.enum(['none', 'spinning', 'done']).optional(),
  inject_io: z.number().int().min(0).optional(),
  kicks: z.number().int().min(0).optional(),
  kicker_calls: z.number().int().min(0).optional(),
  kicker_restarts: z.number().int().min(0).optional(),
  // vCPU
  state: z.enum(['host', 'in_sie', 'halted', 'gone']).optional(),
  cpustat_wait: z.boolean().optional(),
  cpustat_io_int: z.boolean().optional(),
  wakeup_pending: z.boolean().optional(),
  deliver_io: z.number().int().min(0).optional(),
  sie_presented: z.number().int().min(0).optional(),
  halt_wakeup: z.number().int().min(0).optional(),
  exit_wait_state: z.number().int().min(0).optional(),
  io_int_word: word.optional(),
};

export const VM_EXPECT_FIELDS = [
  'origin',
  'ipm',
  'iam',
  'mask',
  'listed',
  'next_alert',
  'ref_count',
  'idle_mask',
  'kicked_mask',
  'timer',
  'timer_in_ns',
  'float_pending',
  'io_counter',
  'destroy',
  'inject_io',
  'kicks',
  'kicker_calls',
  'kicker_restarts',
] as const;
export const VCPU_EXPECT_FIELDS = [
  'state',
  'cpustat_wait',
  'cpustat_io_int',
  'wakeup_pending',
  'deliver_io',
  'sie_presented',
  'halt_wakeup',
  'exit_wait_state',
  'io_int_word',
] as const;

const opSchema = z.discriminatedUnion('op', [
  z.strictObject({
    op: z.literal('gib_init'),
    fault: z.enum(['none', 'nomem', 'register', 'chsc', 'aen']).optional(),
    note,
    want,
  }),
  z.strictObject({ op: z.literal('gib_destroy'), note, want }),
  z.strictObject({
    op: z.literal('create_vm'),
    ...onVm,
    vcpus: z.number().int().min(1).max(MAX_MODEL_VCPUS).optional(),
    vcpu_ids: z.array(vcpuIdx).min(1).max(MAX_MODEL_VCPUS).optional(),
  }),
  z.strictObject({ op: z.literal('gisc_register'), ...onVm, gisc: z.number().int() }),
  z.strictObject({ op: z.literal('gisc_unregister'), ...onVm, gisc: z.number().int() }),
  z.strictObject({ op: z.literal('firmware_ai'), ...onVm, isc }),
  z.strictObject({
    op: z.literal('inject_io'),
    ...onVm,
    isc,
    ai: z.boolean().optional(),
    subchannel_id: z.number().int().min(0).max(0xffff).optional(),
    subchannel_nr: z.number().int().min(0).max(0xffff).optional(),
    io_int_parm: word.optional(),
  }),
  z.strictObject({ op: z.literal('enter_sie'), ...onVcpu }),
  z.strictObject({ op: z.literal('leave_sie'), ...onVcpu }),
  z.strictObject({ op: z.literal('wait'), ...onVcpu }),
  z.strictObject({ op: z.literal('resume'), ...onVcpu }),
  z.strictObject({ op: z.literal('deliver'), ...onVcpu }),
  z.strictObject({
    op: z.literal('set_psw'),
    ...onVcpu,
    io: z.boolean().optional(),
    ext: z.boolean().optional(),
    mchk: z.boolean().optional(),
  }),
  z.strictObject({
    op: z.literal('set_cr6'),
    ...onVcpu,
    iscs: z.array(isc).optional(),
    mask: byte.optional(),
  }),
  z.strictObject({
    op: z.literal('set_ckc'),
    ...onVcpu,
    ckc: z.union([z.enum(['off', 'expired']), z.number().int().min(1)]),
  }),
  z.strictObject({ op: z.literal('advance'), ns: z.number().int().min(0), note, want }),
  z.strictObject({
    op: z.literal('gal_irq'),
    stop_after_xchg: z.number().int().min(1).optional(),
    note,
    want,
  }),
  z.strictObject({
    op: z.literal('gal_resume'),
    stop_after_xchg: z.number().int().min(1).optional(),
    note,
    want,
  }),
  z.strictObject({
    op: z.literal('tpi'),
    ...onVm,
    iscs: z.array(isc).optional(),
    mask: byte.optional(),
    schid: word.optional(),
    alloc_fail: z.boolean().optional(),
  }),
  z.strictObject({
    op: z.literal('migrate_read'),
    ...onVm,
    records: z.number().int().min(0).optional(),
    len: z.number().int().min(0).optional(),
  }),
  z.strictObject({ op: z.literal('clear'), ...onVm }),
  z.strictObject({ op: z.literal('destroy'), ...onVm }),
  z.strictObject({ op: z.literal('gisa_enable'), ...onVm }),
  z.strictObject({ op: z.literal('gisa_disable'), ...onVm }),
  z.strictObject({
    op: z.literal('expect'),
    vm: vmName.optional(),
    vcpu: vcpuIdx.optional(),
    note,
    ...expectFields,
  }),
]);

export const s390ScriptSchema = z.strictObject({
  arch: z.literal('s390'),
  kind: z.literal('script'),
  name: z.string().optional(),
  description: z.string().optional(),
  strategy: z.enum(STRATEGIES).optional(),
  fixes: z
    .strictObject({
      F1: z.boolean().optional(),
      F2: z.boolean().optional(),
      F3: z.boolean().optional(),
      F5: z.boolean().optional(),
    })
    .optional(),
  floating_kick: z.enum(['idle_first', 'last_sleep_cpu']).optional(),
  host: z
    .strictObject({
      aiv: z.boolean().optional(),
      zpci: z.boolean().optional(),
      use_gisa: z.boolean().optional(),
      max_float_irqs: z.number().int().min(1).optional(),
      expires_ns: z.number().int().min(1).optional(),
    })
    .optional(),
  ops: z.array(opSchema).min(1),
});

export type S390Script = z.output<typeof s390ScriptSchema>;
export type S390ScriptOp = S390Script['ops'][number];
export type ExpectOp = Extract<S390ScriptOp, { op: 'expect' }>;
