// What a variant module gets from `import … from 'kvmsim'` at run time (docs/variants.md): the variant
// API, from this running kvmsim's own modules, so a variant's hooks and the model share one copy of each.
// The library (src/index.ts) re-exports all of it; the types a variant names come from the package's
// declarations.
export { APF_WAKEUP_ALL_TOKEN, KVM_REQ_APF_HALT, KVM_REQ_APF_READY } from '../abi/kvm_host.ts';
export * from '../abi/kvm_para.ts';
export { X86_KERNEL_FN_NAMES } from '../host/x86/kernel_fns.ts';
export {
  HOST_MM_OPS,
  MM_COW,
  MM_DONTNEED,
  MM_KSM_REPLACE,
  MM_KSM_WRPROTECT,
  MM_MEMSLOT_REMAP,
  MM_MIGRATE,
  MM_MPROTECT_RO,
  MM_MPROTECT_RW,
  MM_MUNMAP,
  MM_NUMA_PROTNONE,
  MM_RECLAIM,
  MM_THP_COLLAPSE,
  MM_THP_SPLIT,
} from '../host/x86/primary_mmu.ts';
export { kvm_make_request } from '../host/x86/vcpu.ts';
export { kvm_vcpu_kick } from '../host/x86/vm.ts';
export { defineVariant } from './api.ts';
export { variantState } from './state.ts';
export { VariantError } from './variant_error.ts';
