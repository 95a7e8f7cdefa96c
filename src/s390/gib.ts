// O1: the one GIB of the host. kvm_s390_gib_init runs at module init with GAL_ISC; without the AIV facility it
// succeeds without a GIB (VMs then run without GISA). Failures undo what was done, in the kernel's order —
// except the ≥6.0 AEN failure path, which leaves the GIB associated with the channel subsystem (spec §9.6).
import { NULL_GISA_ADDR } from '../abi/s390_gisa.ts';
import { EIO, ENOMEM } from './errno.ts';
import { hex32 } from './isc.ts';
import { emit, GIB_ADDR, type S390World, traits } from './world.ts';

/** Which step of kvm_s390_gib_init fails, for conformance tests (none in normal runs). */
export type GibInitFault = 'none' | 'nomem' | 'register' | 'chsc' | 'aen';

export function kvm_s390_gib_init(w: S390World, nisc: number, fault: GibInitFault = 'none'): number {
  const rc = gibInit(w, nisc, fault);
  w.kvm_loaded = rc === 0;
  return rc;
}

function gibInit(w: S390World, nisc: number, fault: GibInitFault): number {
  if (!w.cfg.aiv) {
    if (w.tracing) emit(w, { event: 'log', msg: 'gib not initialized, no AIV facility' });
    return 0;
  }
  if (fault === 'nomem') return -ENOMEM;
  if (fault === 'register') {
    if (w.tracing) emit(w, { event: 'log', msg: 'Registering the GIB alert interruption handler failed' });
    return -EIO;
  }
  w.adapter_registered = true;
  w.gib = { addr: GIB_ADDR, alert_list_origin: NULL_GISA_ADDR, nisc };
  if (fault === 'chsc') {
    if (w.tracing) emit(w, { event: 'log', msg: 'Associating the GIB with the AIV facility failed' });
    w.gib = null;
    w.adapter_registered = false;
    return -EIO;
  }
  w.chsc_gib_origin = GIB_ADDR;
  if (traits(w).modern && w.cfg.zpci && fault === 'aen') {
    // kvm_s390_pci_aen_init failed: unregister and free, but no CHSC set-GIB(0).
    w.adapter_registered = false;
    w.gib = null;
    if (w.tracing)
      emit(w, {
        event: 'log',
        msg: 'AEN init failed; GIB page freed while still associated',
        chsc: hex32(w.chsc_gib_origin),
      });
    return -EIO;
  }
  if (w.tracing) emit(w, { event: 'gib_init', gib: hex32(GIB_ADDR), nisc });
  return 0;
}

/** kvm_s390_gib_destroy: CHSC set-GIB(0), unregister the adapter interrupt, free the page. */
export function kvm_s390_gib_destroy(w: S390World): void {
  if (!w.gib) return;
  w.chsc_gib_origin = 0;
  w.adapter_registered = false;
  w.gib = null;
  w.kvm_loaded = false;
  if (w.tracing) emit(w, { event: 'gib_destroy' });
}
