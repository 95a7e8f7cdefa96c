# The real-mode interpreter guest (kvm-oracle §2 and §4): runs the script's MSR, memory, APIC and
# interrupt ops one at a time and reports each result and each interrupt to the host by MMIO.
#
# Why real mode: on kvm_pvm real mode is emulated but complete (IVT delivery, IRET), and the page-ready
# path needs no paging (kvm-oracle §4). Scripts with `touch` ops use long_mode.S instead.
#
# State set by the host (src/oracle/machine.ts) before the first KVM_RUN:
#   CS = PRIV_BASE >> 4 (this file is linked at offset 0 of that segment), IP = rm_start, IF = 0
#   SS = GS = this vCPU's block >> 4, SP = PC_KERNEL_STACK
#   FS: base 0, limit 4 GiB ("unreal" mode: set through KVM_SET_SREGS and never reloaded), so 32-bit
#       offsets reach the script's RAM, the LAPIC and the report page
#   IDTR: base IVT_GPA, limit 0x3ff; IVT[v] = CS:irq_stubs + 8 * v
#
# The loop: report R_READY; the host writes the next op into the block and resumes; run it; report
# R_OK or R_GP. IF is the script's own (`sti`/`cli` ops execute STI/CLI), so an interrupt is taken at
# the first instruction boundary where it is pending and allowed, as on any x86: one raised by an op
# comes before that op's report, one made deliverable by `sti` right after it (the report is in the
# STI shadow).

.intel_syntax noprefix
.code16
.include "protocol.inc"

# A report: a 32-bit store of eax to the channel's MMIO address (a KVM_EXIT_MMIO).
.macro REPORT ch
  addr32 mov dword ptr fs:[REPORT_GPA + \ch * REPORT_STRIDE], eax
.endm

.text
.global rm_start
rm_start:
interp_loop:
  xor eax, eax
  REPORT R_READY
  mov eax, gs:[PC_OP]
  cmp eax, OP_WRMSR
  je op_wrmsr
  cmp eax, OP_RDMSR
  je op_rdmsr
  cmp eax, OP_WRITE
  je op_write
  cmp eax, OP_READ
  je op_read
  cmp eax, OP_APIC
  je op_apic
  cmp eax, OP_STI
  je op_sti
  cmp eax, OP_CLI
  je op_cli
  cmp eax, OP_HLT
  je op_hlt
  cmp eax, OP_RUN
  je op_run
  cmp eax, OP_TOUCH
  je op_touch
  cmp eax, OP_CPUID
  je op_cpuid
  cmp eax, OP_HYPERCALL
  je op_hypercall
  mov eax, 0xffff                     # unknown opcode: a host bug
  jmp panic

op_done:
  call window
  xor eax, eax
  REPORT R_OK
  jmp interp_loop

# #GP during an op: the #GP handler resumes here (PC_GP_FIXUP), with IF as it was.
op_faulted:
  call window
  xor eax, eax
  REPORT R_GP
  jmp interp_loop

# Before a report with IF = 1, one exit (R_WINDOW): KVM injects the interrupts an op made pending when
# it re-enters the guest. Hardware would take them at the next instruction boundary anyway; under
# instruction emulation (all of real mode on kvm_pvm) KVM only looks between emulation batches, and a
# bare `nop` is not enough.
window:
  pushfd
  pop eax
  test eax, 0x200
  jz 1f
  xor eax, eax
  REPORT R_WINDOW
1:
  ret

op_wrmsr:
  mov ecx, gs:[PC_ARG_A]
  mov eax, gs:[PC_ARG_B]
  mov edx, gs:[PC_ARG_B + 4]
  mov word ptr gs:[PC_GP_FIXUP], offset op_faulted
  wrmsr
  mov word ptr gs:[PC_GP_FIXUP], 0
  jmp op_done

op_rdmsr:
  mov ecx, gs:[PC_ARG_A]
  mov word ptr gs:[PC_GP_FIXUP], offset op_faulted
  rdmsr
  mov word ptr gs:[PC_GP_FIXUP], 0
  mov gs:[PC_RESULT], eax
  mov gs:[PC_RESULT + 4], edx
  jmp op_done

# CPUID of leaf A, subleaf 0; the register B asks for goes to PC_RESULT.
op_cpuid:
  mov eax, gs:[PC_ARG_A]
  xor ecx, ecx
  cpuid
  mov esi, gs:[PC_ARG_B]
  cmp esi, 1
  jne 1f
  mov eax, ebx
1:
  cmp esi, 2
  jne 2f
  mov eax, ecx
2:
  cmp esi, 3
  jne 3f
  mov eax, edx
3:
  mov gs:[PC_RESULT], eax
  mov dword ptr gs:[PC_RESULT + 4], 0
  jmp op_done

# VMCALL (B = 0) or VMMCALL (B = 1): RAX = nr, RBX, RCX, RDX, RSI = a0..a3; RAX comes back.
op_hypercall:
  mov ebx, gs:[PC_HC_ARGS]
  mov ecx, gs:[PC_HC_ARGS + 8]
  mov edx, gs:[PC_HC_ARGS + 16]
  mov esi, gs:[PC_HC_ARGS + 24]
  cmp dword ptr gs:[PC_ARG_B], 1
  mov eax, gs:[PC_ARG_A]
  je 1f
  vmcall
  jmp 2f
1:
  vmmcall
2:
  mov gs:[PC_RESULT], eax
  mov dword ptr gs:[PC_RESULT + 4], 0
  jmp op_done

# 8-byte accesses are two 4-byte accesses in real mode (low half first).
op_write:
  mov ebx, gs:[PC_ARG_A]
  mov eax, gs:[PC_ARG_B]
  mov edx, gs:[PC_ARG_B + 4]
  mov ecx, gs:[PC_ARG_C]
  cmp ecx, 1
  jne 1f
  addr32 mov fs:[ebx], al
  jmp op_done
1:
  cmp ecx, 2
  jne 2f
  addr32 mov fs:[ebx], ax
  jmp op_done
2:
  addr32 mov fs:[ebx], eax
  cmp ecx, 8
  jne op_done
  addr32 mov fs:[ebx + 4], edx
  jmp op_done

op_read:
  mov ebx, gs:[PC_ARG_A]
  mov ecx, gs:[PC_ARG_C]
  xor eax, eax
  xor edx, edx
  cmp ecx, 1
  jne 1f
  addr32 mov al, fs:[ebx]
  jmp 9f
1:
  cmp ecx, 2
  jne 2f
  addr32 mov ax, fs:[ebx]
  jmp 9f
2:
  addr32 mov eax, fs:[ebx]
  cmp ecx, 8
  jne 9f
  addr32 mov edx, fs:[ebx + 4]
9:
  mov gs:[PC_RESULT], eax
  mov gs:[PC_RESULT + 4], edx
  jmp op_done

# APIC_BASE |= ENABLE (+ EXTD for x2APIC), then SVR = 0x1ff by MSR (x2APIC) or MMIO (xAPIC).
op_apic:
  mov word ptr gs:[PC_GP_FIXUP], offset op_faulted
  mov ecx, MSR_APIC_BASE
  rdmsr
  or eax, APIC_BASE_ENABLE
  cmp dword ptr gs:[PC_ARG_A], 0
  je 1f
  or eax, APIC_BASE_EXTD
  wrmsr
  mov ecx, MSR_X2APIC_SVR
  mov eax, APIC_SVR_ENABLE
  xor edx, edx
  wrmsr
  mov word ptr gs:[PC_GP_FIXUP], 0
  jmp op_done
1:
  wrmsr
  mov word ptr gs:[PC_GP_FIXUP], 0
  and eax, 0xfffff000
  mov ebx, eax
  addr32 mov dword ptr fs:[ebx + APIC_SVR_OFF], APIC_SVR_ENABLE
  jmp op_done

# STI and report: the report is in the STI shadow, so what STI makes deliverable comes after it.
op_sti:
  sti
  xor eax, eax
  REPORT R_OK
  jmp interp_loop

op_cli:
  cli
  jmp op_done

# HLT with the script's IF. With IF = 0 only something that wakes a halted vCPU without an interrupt
# (an async PF completion) can end it; otherwise the host's watchdog reports the op as a hang.
op_hlt:
  hlt
  jmp op_done

# Every R_POLL is an exit, so each one lets KVM inject what is pending (with IF = 1).
op_run:
  xor eax, eax
  REPORT R_POLL
  cmp dword ptr gs:[PC_RUN_STOP], 0
  je op_run
  jmp op_done

# Real mode has no CPL3 and no paging: a touch is a plain CPU access (the host only sends CPL0 touches).
op_touch:
  mov ebx, gs:[PC_ARG_A]
  test dword ptr gs:[PC_ARG_C], TOUCH_WRITE
  jz 1f
  addr32 add byte ptr fs:[ebx], 0
  jmp op_done
1:
  addr32 mov al, fs:[ebx]
  jmp op_done

# Unexpected exception or bad opcode: report and stop. The host never resumes a vCPU after R_PANIC.
panic:
  mov gs:[PC_PANIC_VEC], eax
  REPORT R_PANIC
1:
  cli
  hlt
  jmp 1b

# Interrupt and exception entry. Every IVT entry points at its own 8-byte stub, which pushes the vector
# and jumps here. Stack after `pushad`: 32 bytes of registers, vector, IP, CS, FLAGS.
irq_common:
  pushad
  mov bp, sp
  movzx eax, word ptr [bp + 32]
  cmp eax, 16
  jae irq_external
  cmp eax, 13                         # #GP: real mode pushes no error code
  jne exception_unexpected
  mov bx, gs:[PC_GP_FIXUP]
  test bx, bx
  jz exception_unexpected
  mov word ptr gs:[PC_GP_FIXUP], 0
  mov [bp + 34], bx                   # resume at the fixup
  jmp irq_return
exception_unexpected:
  mov bx, [bp + 34]
  mov gs:[PC_PANIC_RIP], bx
  jmp panic

# An interrupt: report it with the area's flags and token, then run the script's page_ready handler
# in the model's order: EOI (eoi: first), clear the token and ACK (swapped by ack-before-clear) for the
# page-ready vector only, EOI (eoi: last). Real mode has no #PF, so there is no waiter to wake.
irq_external:
  push word ptr gs:[PC_GP_FIXUP]      # the interrupted op may be between setting and using its fixup
  mov esi, eax                        # esi = vector
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je 1f
  mov ebx, gs:[PC_AREA]
  addr32 mov eax, fs:[ebx]
  mov gs:[PC_IRQ_FLAGS], eax
  addr32 mov eax, fs:[ebx + 4]
  mov gs:[PC_IRQ_TOKEN], eax
1:
  mov eax, esi
  REPORT R_IRQ
  test dword ptr gs:[PC_HFLAGS], HF_EOI_FIRST
  jz 2f
  call eoi
2:
  cmp esi, gs:[PC_PR_VEC]
  jne 4f
  test dword ptr gs:[PC_HFLAGS], HF_ACK_BEFORE_CLEAR
  jnz 3f
  call clear_token
  call ack
  jmp 4f
3:
  call ack
  call clear_token
4:
  test dword ptr gs:[PC_HFLAGS], HF_EOI_LAST
  jz 5f
  call eoi
5:
  pop word ptr gs:[PC_GP_FIXUP]
irq_return:
  popad
  add sp, 2
  iret

clear_token:
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je 1f
  test dword ptr gs:[PC_HFLAGS], HF_CLEAR_TOKEN
  jz 1f
  mov ebx, gs:[PC_AREA]
  addr32 mov dword ptr fs:[ebx + 4], 0
1:
  ret

# WRMSR(MSR_KVM_ASYNC_PF_ACK) and its `ack` report; a #GP resumes at ack_faulted, inside this routine.
ack:
  test dword ptr gs:[PC_HFLAGS], HF_ACK
  jz 1f
  mov ecx, MSR_KVM_ASYNC_PF_ACK
  mov eax, gs:[PC_ACK_VAL]
  mov edx, gs:[PC_ACK_VAL + 4]
  mov word ptr gs:[PC_GP_FIXUP], offset ack_faulted
  wrmsr
  mov word ptr gs:[PC_GP_FIXUP], 0
  xor eax, eax
  REPORT R_ACK
  ret
ack_faulted:
  mov eax, 1
  REPORT R_ACK
1:
  ret

# EOI in whichever mode the APIC is in (x2APIC: MSR write; xAPIC: MMIO at the APIC base).
eoi:
  mov ecx, MSR_APIC_BASE
  rdmsr
  test eax, APIC_BASE_ENABLE
  jz 2f
  test eax, APIC_BASE_EXTD
  jz 1f
  mov ecx, MSR_X2APIC_EOI
  xor eax, eax
  xor edx, edx
  wrmsr
  ret
1:
  and eax, 0xfffff000
  mov ebx, eax
  addr32 mov dword ptr fs:[ebx + APIC_EOI_OFF], 0
2:
  ret

# 256 stubs, 8 bytes apart: push imm16 vector; jmp irq_common.
.balign 8
.global irq_stubs
irq_stubs:
.set vec, 0
.rept 256
  .balign 8
  .byte 0x68
  .word vec
  .byte 0xe9
  .word irq_common - (. + 2)
  .set vec, vec + 1
.endr
.global rm_end
rm_end:
