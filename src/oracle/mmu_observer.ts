// What the kvm backend can observe of KVM's MMU in a script with vm.mmu_notifiers (docs/oracle.md,
// "Host memory operations"): KVM's binary statistics (kvm_stats.ts), read while every vCPU is parked.
// - vCPU `pf_taken` (kvm_mmu_do_page_fault: every guest page fault KVM's MMU handles, prefetches not),
//   counted from a baseline taken after the session's warm-up, summed over the vCPUs: the `pf_taken`
//   of the closing kvm_stat record, the model's vcpu.stat.pf_taken.
// - VM `pages_4k`: 4 KiB leaf SPTEs present (kvm_update_page_stats, +1 when an SPTE is installed, -1
//   when one is dropped), whose fall over a host operation is the SPTEs its invalidation zapped.
import type { Libc } from './ffi.ts';
import { KvmStats } from './kvm_stats.ts';
import type { Machine } from './machine.ts';

export interface KernelMmuStat {
  kvm_stat: 'mmu';
  pf_taken: number;
}

export class MmuObserver {
  private base: bigint[];

  private constructor(
    private readonly vcpus: KvmStats[],
    private readonly vm: KvmStats,
  ) {
    this.base = vcpus.map(() => 0n);
  }

  static open(libc: Libc, m: Machine): MmuObserver {
    const opened: KvmStats[] = [];
    const open = (fd: number, what: string): KvmStats => {
      const s = KvmStats.open(libc, fd);
      if ('errno' in s) {
        for (const o of opened) o.close();
        throw new Error(`KVM_GET_STATS_FD on the ${what} fd failed (errno ${s.errno}); it needs Linux 5.14+`);
      }
      opened.push(s);
      return s;
    };
    const vcpus = m.vcpus.map((v) => open(v.fd, `vCPU ${v.id}`));
    const vm = open(m.vm.fd, 'VM');
    for (const [s, name] of [...vcpus.map((s) => [s, 'pf_taken'] as const), [vm, 'pages_4k'] as const])
      if (!s.has(name)) {
        for (const o of opened) o.close();
        throw new Error(`this kernel's KVM statistics have no ${name}`);
      }
    return new MmuObserver(vcpus, vm);
  }

  /** From now on pf_taken counts. */
  baseline(): void {
    this.base = this.vcpus.map((s) => s.read('pf_taken')[0]!);
  }

  /** pf_taken since the baseline, summed over the vCPUs. */
  pfTaken(): number {
    return this.vcpus.reduce((n, s, i) => n + Number(s.read('pf_taken')[0]! - this.base[i]!), 0);
  }

  /** 4 KiB leaf SPTEs present in the VM. */
  spte4k(): bigint {
    return this.vm.read('pages_4k')[0]!;
  }

  statRecord(): KernelMmuStat {
    return { kvm_stat: 'mmu', pf_taken: this.pfTaken() };
  }

  close(): void {
    for (const s of this.vcpus) s.close();
    this.vm.close();
  }
}
