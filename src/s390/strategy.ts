// Which kernel the model behaves like: a strategy (a version of the GIB series, or the current kernel) plus
// independent fix switches. The strategy picks the algorithm (how alerts kick vCPUs, when the IAM is
// re-armed); the switches pick pre-/post-fix behaviour of later bug fixes, so a fix can be ablated alone.
import { GISA_KICKER_EXPIRES_NS, KVM_S390_MAX_FLOAT_IRQS } from '../abi/s390_gisa.ts';

export const STRATEGIES = ['v3', 'v4', 'v5', 'v6', 'v7', 'current'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const FIX_SWITCHES = ['F1', 'F2', 'F3', 'F5'] as const;
export type FixSwitch = (typeof FIX_SWITCHES)[number];
export type Fixes = Record<FixSwitch, boolean>;

/**
 * What a strategy does, as switches the model code branches on.
 * - alertAction: what process_gib_alert_list does for each GISA it unlinks.
 * - waitRestore: what kvm_s390_handle_wait does with the IAM before sleeping.
 * - restoreOnVmIdle: v3 re-arms the IAM when the last vCPU leaves SIE (vcpus_in_sie drops to 0).
 * - modern: ≥6.0 code paths (AEN hook and LSI byte in gib_init, gisa_enable/disable).
 */
export interface StrategyTraits {
  readonly alertAction: 'kick_one' | 'kick_cover' | 'kicker_timer';
  readonly waitRestore: 'none' | 'set_iam' | 'get_ipm_or_restore_iam';
  readonly restoreOnVmIdle: boolean;
  readonly modern: boolean;
}

const TRAITS: Record<Strategy, StrategyTraits> = {
  v3: { alertAction: 'kick_one', waitRestore: 'none', restoreOnVmIdle: true, modern: false },
  v4: { alertAction: 'kick_one', waitRestore: 'set_iam', restoreOnVmIdle: false, modern: false },
  v5: {
    alertAction: 'kick_cover',
    waitRestore: 'get_ipm_or_restore_iam',
    restoreOnVmIdle: false,
    modern: false,
  },
  v6: { alertAction: 'kicker_timer', waitRestore: 'none', restoreOnVmIdle: false, modern: false },
  v7: {
    alertAction: 'kicker_timer',
    waitRestore: 'get_ipm_or_restore_iam',
    restoreOnVmIdle: false,
    modern: false,
  },
  current: {
    alertAction: 'kicker_timer',
    waitRestore: 'get_ipm_or_restore_iam',
    restoreOnVmIdle: false,
    modern: true,
  },
};

export const strategyTraits = (s: Strategy): StrategyTraits => TRAITS[s];

/** The fixes are part of the current kernel and absent from every version of the series (5.2 era). */
export function defaultFixes(s: Strategy): Fixes {
  const on = s === 'current';
  return { F1: on, F2: on, F3: on, F5: on };
}

/**
 * Target choice of __floating_irq_kick: `idle_first` (5.2 … 6.17: lowest idle vCPU, else round robin from
 * next_rr_cpu) or `last_sleep_cpu` (Linux 6.18, "KVM: s390: improve interrupt cpu for wakeup").
 */
export type FloatingKick = 'idle_first' | 'last_sleep_cpu';

/**
 * How process_gib_alert_list cuts the list off. `none_marker` (v3 and later, the default): exchange with NONE so
 * GISAs linked during the walk raise no GAL, and repeat until an exchange returns NONE, then store NULL.
 * `single_xchg` (v1/v2's unlink_gib_alert_list): one exchange with NULL, so a GISA linked while the host is
 * still walking raises a new GAL. Only an ablation switch for the v3 claim (C3: "rewritten to reduce the number
 * of GAL interruptions on the host for many guest scenarios"); everything else stays as the strategy says.
 */
export type AlertWalkKind = 'none_marker' | 'single_xchg';
export const ALERT_WALK_KINDS = ['none_marker', 'single_xchg'] as const;

/** Static configuration of a modelled host. Not part of the explorer state. */
export interface S390Config {
  readonly strategy: Strategy;
  readonly fixes: Fixes;
  readonly floating_kick: FloatingKick;
  readonly alert_walk: AlertWalkKind;
  /** css_general_characteristics.aiv: the AIV facility (GIB and GISA) exists. */
  readonly aiv: boolean;
  /** kvm_s390_pci_interp_allowed(): gib_init also sets up zPCI AEN (≥6.0 only). */
  readonly zpci: boolean;
  /** Module parameter use_gisa (default true). */
  readonly use_gisa: boolean;
  readonly max_float_irqs: number;
  readonly expires_ns: number;
  /**
   * What-if, in no kernel: kvm_s390_gisa_destroy, after its own walk, waits until no other CPU's
   * process_gib_alert_list is in flight (e.g. walks under rcu_read_lock() and a synchronize_rcu() there —
   * the unverified fix suggested in spec §6 item 11) before it cancels the kicker and returns. Default false.
   */
  readonly destroy_waits_for_walks: boolean;
}

export interface S390ConfigInput {
  strategy?: Strategy;
  fixes?: Partial<Fixes>;
  floating_kick?: FloatingKick;
  alert_walk?: AlertWalkKind;
  aiv?: boolean;
  zpci?: boolean;
  use_gisa?: boolean;
  max_float_irqs?: number;
  expires_ns?: number;
  destroy_waits_for_walks?: boolean;
}

export function resolveConfig(input: S390ConfigInput = {}): S390Config {
  const strategy = input.strategy ?? 'current';
  return {
    strategy,
    fixes: { ...defaultFixes(strategy), ...input.fixes },
    floating_kick: input.floating_kick ?? 'idle_first',
    alert_walk: input.alert_walk ?? 'none_marker',
    aiv: input.aiv ?? true,
    zpci: input.zpci ?? false,
    use_gisa: input.use_gisa ?? true,
    max_float_irqs: input.max_float_irqs ?? KVM_S390_MAX_FLOAT_IRQS,
    expires_ns: input.expires_ns ?? GISA_KICKER_EXPIRES_NS,
    destroy_waits_for_walks: input.destroy_waits_for_walks ?? false,
  };
}
