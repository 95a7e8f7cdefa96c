// The design the ACK MSR replaced, as a fix for ack-less.ts: with no ACK, the host checks its queue of
// completed works after every exit (what vcpu_run did up to 5.7: kvm_check_async_pf_completion on every
// iteration) instead of waiting for a request. Stacked on ack-less.ts, every property holds again
// (kvmsim explore examples/variants/ack-less-polled.explore.yaml); what it costs is that a page-ready queued
// behind a busy slot waits for the vCPU's next exit, which `kvmsim compare` measures
// (examples/variants/README.md).
import { defineVariant } from 'kvmsim';

export default defineVariant({
  name: 'ack-less-polled',
  description: 'the host polls its completion queue on every run-loop iteration, as before 5.8',
  host: (b) => ({ ...b, completionPolled: true }),
});
