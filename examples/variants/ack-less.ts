// The 2020 review's question: could 'page ready' work without MSR_KVM_ASYNC_PF_ACK? The guest's page-ready
// handler here reads the token, wakes its waiter and clears the slot, but never writes the ACK MSR; the
// host is the kernel's (5.8+), which re-checks its queue of completed works only when a work lands on an
// empty queue (KVM_REQ_APF_READY) or when the guest ACKs.
//
// What breaks (kvmsim explore examples/variants/ack-less.explore.yaml): when two works complete together,
// the second finds the slot still busy with the first token; the guest frees the slot but nothing makes the
// host look again, so the second waiter sleeps for ever (wakeup-liveness). This is why Vitaly Kuznetsov's
// "KVM: x86: acknowledgment mechanism for async pf page ready notifications" (5.8) added the MSR: "the only
// mechanism we currently have is kvm_check_async_pf_completion() check in vcpu_run() loop … This is slow
// and unnecessary."
import { defineVariant } from 'kvmsim';

export default defineVariant({
  name: 'ack-less',
  description: "the guest's page-ready handler never writes MSR_KVM_ASYNC_PF_ACK",
  guest: (g) => ({ ...g, pageReadyHandler: g.pageReadyHandler.filter((op) => op !== 'ack') }),
});
