import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as K from '../../src/abi/kvm.ts';
import * as U from '../../src/abi/uffd.ts';

// _IOC(dir, type, nr, size) from include/uapi/asm-generic/ioctl.h: dir<<30 | size<<16 | type<<8 | nr.
const IOC = (dir: number, type: number, nr: number, size: number) =>
  ((dir << 30) | (size << 16) | (type << 8) | nr) >>> 0;
const IO = (t: number, nr: number) => IOC(0, t, nr, 0);
const IOW = (t: number, nr: number, size: number) => IOC(1, t, nr, size);
const IOR = (t: number, nr: number, size: number) => IOC(2, t, nr, size);
const IOWR = (t: number, nr: number, size: number) => IOC(3, t, nr, size);
const KVMIO = 0xae;
const UFFDIO = 0xaa;

test('KVM ioctl numbers match _IOC with the struct sizes of src/abi/kvm.ts', () => {
  assert.equal(K.KVM_GET_API_VERSION, IO(KVMIO, 0x00));
  assert.equal(K.KVM_CREATE_VM, IO(KVMIO, 0x01));
  assert.equal(K.KVM_GET_MSR_INDEX_LIST, IOWR(KVMIO, 0x02, 4));
  assert.equal(K.KVM_CHECK_EXTENSION, IO(KVMIO, 0x03));
  assert.equal(K.KVM_GET_VCPU_MMAP_SIZE, IO(KVMIO, 0x04));
  assert.equal(K.KVM_GET_SUPPORTED_CPUID, IOWR(KVMIO, 0x05, 8));
  assert.equal(K.KVM_CREATE_VCPU, IO(KVMIO, 0x41));
  assert.equal(K.KVM_SET_USER_MEMORY_REGION, IOW(KVMIO, 0x46, K.kvm_userspace_memory_region.size));
  assert.equal(K.KVM_CREATE_IRQCHIP, IO(KVMIO, 0x60));
  assert.equal(K.KVM_RUN, IO(KVMIO, 0x80));
  assert.equal(K.KVM_GET_REGS, IOR(KVMIO, 0x81, K.kvm_regs.size));
  assert.equal(K.KVM_SET_REGS, IOW(KVMIO, 0x82, K.kvm_regs.size));
  assert.equal(K.KVM_GET_SREGS, IOR(KVMIO, 0x83, K.kvm_sregs.size));
  assert.equal(K.KVM_SET_SREGS, IOW(KVMIO, 0x84, K.kvm_sregs.size));
  assert.equal(K.KVM_GET_MSRS, IOWR(KVMIO, 0x88, 8));
  assert.equal(K.KVM_SET_MSRS, IOW(KVMIO, 0x89, 8));
  assert.equal(K.KVM_SET_CPUID2, IOW(KVMIO, 0x90, 8));
  assert.equal(K.KVM_GET_MP_STATE, IOR(KVMIO, 0x98, 4));
  assert.equal(K.KVM_SET_MP_STATE, IOW(KVMIO, 0x99, 4));
  assert.equal(K.KVM_ENABLE_CAP, IOW(KVMIO, 0xa3, K.kvm_enable_cap.size));
  assert.equal(K.KVM_GET_STATS_FD, IO(KVMIO, 0xce));
});

test('userfaultfd ioctl numbers match _IOC with the struct sizes of src/abi/uffd.ts', () => {
  assert.equal(U.UFFDIO_API, IOWR(UFFDIO, 0x3f, U.uffdio_api.size));
  assert.equal(U.UFFDIO_REGISTER, IOWR(UFFDIO, 0x00, U.uffdio_register.size));
  assert.equal(U.UFFDIO_UNREGISTER, IOR(UFFDIO, 0x01, U.uffdio_range.size));
  assert.equal(U.UFFDIO_COPY, IOWR(UFFDIO, 0x03, U.uffdio_copy.size));
});

test('struct layouts: kvm_regs holds 18 u64, kvm_sregs ends with interrupt_bitmap[4]', () => {
  assert.equal(K.KVM_REGS_ORDER.length * 8, K.kvm_regs.size);
  assert.equal(K.KVM_REGS_ORDER.indexOf('rip') * 8, 128);
  assert.equal(K.kvm_sregs.interrupt_bitmap + 4 * 8, K.kvm_sregs.size);
  assert.equal(K.kvm_sregs.ldt + K.kvm_segment.size, K.kvm_sregs.gdt);
});
