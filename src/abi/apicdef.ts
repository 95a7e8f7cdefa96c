// arch/x86/include/asm/apicdef.h and msr-index.h: the local APIC subset APF needs. No logic.

export const MSR_IA32_APICBASE = 0x1b;
export const MSR_IA32_APICBASE_BSP = 1 << 8;
export const MSR_IA32_APICBASE_EXTD = 1 << 10; // x2APIC mode
export const MSR_IA32_APICBASE_ENABLE = 1 << 11;
export const APIC_DEFAULT_PHYS_BASE = 0xfee00000;

/** xAPIC register offsets (MMIO); the x2APIC MSR is 0x800 + (offset >> 4). */
export const APIC_ID = 0x20;
export const APIC_TASKPRI = 0x80;
export const APIC_PROCPRI = 0xa0;
export const APIC_EOI = 0xb0;
export const APIC_SPIV = 0xf0;
export const APIC_SPIV_APIC_ENABLED = 1 << 8;
export const APIC_ISR = 0x100;
export const APIC_IRR = 0x200;
export const APIC_ESR = 0x280;
export const APIC_ICR = 0x300;

export const APIC_BASE_MSR = 0x800;
export const X2APIC_MSR_TPR = APIC_BASE_MSR + (APIC_TASKPRI >> 4); // 0x808
export const X2APIC_MSR_PPR = APIC_BASE_MSR + (APIC_PROCPRI >> 4); // 0x80a
export const X2APIC_MSR_EOI = APIC_BASE_MSR + (APIC_EOI >> 4); // 0x80b
export const X2APIC_MSR_SVR = APIC_BASE_MSR + (APIC_SPIV >> 4); // 0x80f
