// The named checks of the x86 explorer (docs/properties.md has their full definitions). Each is one of:
// - an invariant, checked on every explored state (state.ts predicates);
// - a step check, evaluated on what the host and the guest did during one step (observer.ts);
// - an end-state check, for a state with no enabled step;
// - a liveness check, evaluated by the post-pass of liveness.ts on the whole state graph.

/** The MMU-notifier properties: checked by default only in worlds with the notifier model (`mmu:`). */
const MMU_PROPERTY_NAMES = [
  'no-stale-spte',
  'no-spte-in-invalidation',
  'notifier-balanced',
  'fault-progress',
  'change-pte-useless',
  'no-obsolete-root-install',
] as const;

/** The memory-cache properties: checked by default only in worlds with `mmu: { caches: true }`. */
const MEMCACHE_PROPERTY_NAMES = [
  'topup-sufficient',
  'no-empty-cache-alloc',
  'no-alloc-under-mmu-lock',
] as const;

/**
 * The guest-mapping properties (kvm_vcpu_map, docs/mmu.md "Guest mapping"): checked by default only in
 * worlds with host-internal map callers (`maps:`); `map-coherent` is informational (MAP_INFO_PROPERTIES):
 * the kernel does not promise it, so it is checked only when a scenario lists it.
 */
const MAP_PROPERTY_NAMES = [
  'map-balanced',
  'dirty-logged',
  'no-kunmap-of-remap',
  'no-uaf-mapping',
  'map-coherent',
] as const;

export const PROPERTY_NAMES = [
  'no-guest-panic',
  'no-unexpected-flags-warn',
  'no-host-warn',
  'no-lost-wakeup',
  'wakeup-liveness',
  'no-busy-slot-write',
  'no-token-zero',
  'no-double-fault',
  'pageready-only-for-injected',
  'dummy-consumed',
  'no-dummy-leak',
  'no-hlt-spin',
  'kick-not-lost',
  ...MMU_PROPERTY_NAMES,
  ...MEMCACHE_PROPERTY_NAMES,
  ...MAP_PROPERTY_NAMES,
] as const;
export type PropertyName = (typeof PROPERTY_NAMES)[number];
/** A property a variant adds (docs/variants.md): `variant:<variant name>/<property name>`. */
export type VariantPropertyId = `variant:${string}`;
/** What a counterexample can be for: a built-in property or a variant's. */
export type CheckedProperty = PropertyName | VariantPropertyId;
export const isVariantProperty = (p: string): p is VariantPropertyId => p.startsWith('variant:');

/** The MMU-notifier properties (MMU_PROPERTY_NAMES), as property names. */
export const MMU_PROPERTIES: readonly PropertyName[] = MMU_PROPERTY_NAMES;
/** The memory-cache properties (MEMCACHE_PROPERTY_NAMES). */
export const MEMCACHE_PROPERTIES: readonly PropertyName[] = MEMCACHE_PROPERTY_NAMES;
/** The guest-mapping properties (MAP_PROPERTY_NAMES). */
export const MAP_PROPERTIES: readonly PropertyName[] = MAP_PROPERTY_NAMES;
/** Guest-mapping properties that are informational: never checked by default. */
export const MAP_INFO_PROPERTIES: readonly PropertyName[] = ['map-coherent'];
/** The default checks of a world without the notifier model (the async-PF ones). */
export const APF_PROPERTIES: readonly PropertyName[] = PROPERTY_NAMES.filter(
  (p) => !MMU_PROPERTIES.includes(p) && !MEMCACHE_PROPERTIES.includes(p) && !MAP_PROPERTIES.includes(p),
);

export type PropertyKind = 'invariant' | 'step' | 'end' | 'liveness';

export interface PropertyInfo {
  readonly kind: readonly PropertyKind[];
  /** One line, for --help-like listings and reports. */
  readonly summary: string;
}

export const PROPERTIES: Readonly<Record<PropertyName, PropertyInfo>> = {
  'no-guest-panic': { kind: ['invariant'], summary: 'the Linux guest never panics' },
  'no-unexpected-flags-warn': {
    kind: ['invariant'],
    summary: 'the guest never WARNs "Unexpected async PF flags" (nor the L1 variant)',
  },
  'no-host-warn': {
    kind: ['step'],
    summary: 'the host never WARNs (e.g. a cached access with no valid cache)',
  },
  'no-lost-wakeup': {
    kind: ['invariant', 'end'],
    summary: 'nobody waits on a token of a vCPU that has no outstanding or queued work and nothing pending',
  },
  'wakeup-liveness': {
    kind: ['liveness'],
    summary: 'from every state, every waiter can be woken by protocol steps alone',
  },
  'no-busy-slot-write': {
    kind: ['step'],
    summary: 'the host writes a page-ready token only into a free slot (token@4 reads 0)',
  },
  'no-token-zero': { kind: ['step'], summary: 'the host never sends token 0' },
  'no-double-fault': {
    kind: ['invariant', 'step'],
    summary: 'no #PF is queued on top of a pending exception: no #DF (or triple fault) is ever raised',
  },
  'pageready-only-for-injected': {
    kind: ['step'],
    summary: "E3+: page-ready is sent only for an injected 'not present' or a wakeup-all",
  },
  'dummy-consumed': {
    kind: ['end', 'liveness'],
    summary: 'every dummy sleep entry is eventually consumed by its fault',
  },
  'no-dummy-leak': {
    kind: ['step'],
    summary: 'no wake unlinks a dummy sleep entry without freeing it',
  },
  'no-hlt-spin': {
    kind: ['liveness'],
    summary: 'no vCPU halts while its `done` list can never drain (HLT would return at once forever)',
  },
  'kick-not-lost': {
    kind: ['invariant'],
    summary: 'E3+: a vCPU in guest mode with APF_READY pending has an un-ACKed page-ready that will rescan',
  },
  'no-stale-spte': {
    kind: ['invariant'],
    summary:
      "no present SPTE maps a frame other than the gfn's current host page, nor maps it writable while the host PTE is read-only",
  },
  'no-spte-in-invalidation': {
    kind: ['invariant'],
    summary: 'no SPTE is present for a page inside an invalidation window (between its start and its end)',
  },
  'notifier-balanced': {
    kind: ['invariant'],
    summary:
      'mmu_invalidate_in_progress and mn_active_invalidate_count never go negative and are 0 when the host is quiet',
  },
  'fault-progress': {
    kind: ['liveness'],
    summary:
      'a fault sent back as stale eventually completes by protocol steps alone (no new host operation)',
  },
  'change-pte-useless': {
    kind: ['step'],
    summary: 'from 3.7 on, change_pte never finds a present SPTE (the claim behind its 6.10 removal)',
  },
  'no-obsolete-root-install': {
    kind: ['step'],
    summary: 'from 5.16 on, no fault installs an SPTE into a root that a memslot update made obsolete',
  },
  'topup-sufficient': {
    kind: ['step'],
    summary:
      "one fault (or root load) never takes more objects from a cache than its topup guaranteed (the era's minimum)",
  },
  'no-empty-cache-alloc': {
    kind: ['step'],
    summary:
      'no allocation under mmu_lock finds its memory cache empty (BUG up to 5.8, WARN + GFP_ATOMIC from 5.9)',
  },
  'no-alloc-under-mmu-lock': {
    kind: ['step'],
    summary: 'no sleepable (GFP_KERNEL) allocation happens while mmu_lock is held',
  },
  'map-balanced': {
    kind: ['invariant', 'end'],
    summary:
      'references and pins never go negative; at the end every kvm_vcpu_map is unmapped (memremap undone) and KVM holds no reference or pin (but a steal-time cache’s)',
  },
  'dirty-logged': {
    kind: ['invariant'],
    summary: 'with dirty logging on, a write through a map is in the dirty log once the map is unmapped',
  },
  'no-kunmap-of-remap': {
    kind: ['invariant'],
    summary: 'kvm_vcpu_unmap never kunmaps a memremap()ed mapping',
  },
  'no-uaf-mapping': {
    kind: ['invariant'],
    summary:
      'a live map of a struct page holds a reference or pin on it (unless allow_unsafe_mappings), and no page is freed while its owner uses it',
  },
  'map-coherent': {
    kind: ['invariant'],
    summary:
      'informational: while mapped, the map and the gfn name the same host frame (not promised under host remaps)',
  },
};

export const LIVENESS_PROPERTIES: readonly PropertyName[] = [
  'wakeup-liveness',
  'no-hlt-spin',
  'dummy-consumed',
  'fault-progress',
];
