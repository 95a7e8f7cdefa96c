# The long-mode interpreter guest (kvm-oracle §5): the same op loop as real_mode.S, in 64-bit mode,
# plus `touch` at CPL3. It is used for scripts with `touch` ops, because a real async page fault needs
# paging, and on kvm_pvm it needs a CPL3 access: CPL0 code is emulated there and its faults never go
# async (kvm-oracle §1.2, §5.3).
#
# State set by the host (src/oracle/machine.ts) before the first KVM_RUN:
#   EFER = LME|LMA|SCE, CR0 = PG|NE|ET|PE, CR4 = PAE, CR3 = PT_GPA (0-4 GiB identity map, U/S = 1)
#   CS = SEL_KERNEL_CS (L = 1), DS/ES/FS/SS = SEL_KERNEL_DS, GS base = this vCPU's block,
#   RIP = lm_start, RSP = block + PC_KERNEL_STACK, RFLAGS = 2 (IF = 0)
#   GDT in the Linux layout; TR = this vCPU's TSS with RSP0 = block + PC_RSP0_STACK
#   IDT: gate v -> irq_stubs + 16 * v (interrupt gates, so IF = 0 in every handler)
#   MSR_STAR = USER32_CS << 48 | KERNEL_CS << 32 (kvm_pvm derives the selectors from it)
#
# As in real_mode.S, IF is the script's own, so interrupts are taken at instruction boundaries.
# Reports are 8-byte MMIO stores, which work at CPL3 too (port I/O does not on kvm_pvm).

.intel_syntax noprefix
.code64
.include "protocol.inc"

.macro REPORT ch
  mov qword ptr [REPORT_GPA + \ch * REPORT_STRIDE], rax
.endm

.text
.global lm_start
lm_start:
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
  mov eax, 0xffff
  jmp panic

op_done:
  call window
  xor eax, eax
  REPORT R_OK
  jmp interp_loop

op_faulted:
  call window
  xor eax, eax
  REPORT R_GP
  jmp interp_loop

# One exit with IF = 1 before a report, so KVM injects what the op made pending (see real_mode.S).
window:
  pushfq
  pop rax
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
  lea rbx, [rip + op_faulted]
  mov gs:[PC_GP_FIXUP], rbx
  wrmsr
  mov qword ptr gs:[PC_GP_FIXUP], 0
  jmp op_done

op_rdmsr:
  mov ecx, gs:[PC_ARG_A]
  lea rbx, [rip + op_faulted]
  mov gs:[PC_GP_FIXUP], rbx
  rdmsr
  mov qword ptr gs:[PC_GP_FIXUP], 0
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

# VMCALL (B = 0) or VMMCALL (B = 1), 64-bit: RAX = nr, RBX, RCX, RDX, RSI = a0..a3; RAX comes back.
op_hypercall:
  mov rbx, gs:[PC_HC_ARGS]
  mov rcx, gs:[PC_HC_ARGS + 8]
  mov rdx, gs:[PC_HC_ARGS + 16]
  mov rsi, gs:[PC_HC_ARGS + 24]
  cmp dword ptr gs:[PC_ARG_B], 1
  mov rax, gs:[PC_ARG_A]
  je 1f
  vmcall
  jmp 2f
1:
  vmmcall
2:
  mov gs:[PC_RESULT], rax
  jmp op_done

op_write:
  mov rbx, gs:[PC_ARG_A]
  mov rax, gs:[PC_ARG_B]
  mov ecx, gs:[PC_ARG_C]
  cmp ecx, 1
  jne 1f
  mov [rbx], al
  jmp op_done
1:
  cmp ecx, 2
  jne 2f
  mov [rbx], ax
  jmp op_done
2:
  cmp ecx, 4
  jne 3f
  mov [rbx], eax
  jmp op_done
3:
  mov [rbx], rax
  jmp op_done

op_read:
  mov rbx, gs:[PC_ARG_A]
  mov ecx, gs:[PC_ARG_C]
  xor eax, eax
  cmp ecx, 1
  jne 1f
  mov al, [rbx]
  jmp 9f
1:
  cmp ecx, 2
  jne 2f
  mov ax, [rbx]
  jmp 9f
2:
  cmp ecx, 4
  jne 3f
  mov eax, [rbx]
  jmp 9f
3:
  mov rax, [rbx]
9:
  mov gs:[PC_RESULT], rax
  jmp op_done

op_apic:
  lea rbx, [rip + op_faulted]
  mov gs:[PC_GP_FIXUP], rbx
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
  mov qword ptr gs:[PC_GP_FIXUP], 0
  jmp op_done
1:
  wrmsr
  mov qword ptr gs:[PC_GP_FIXUP], 0
  and eax, 0xfffff000
  mov dword ptr [rax + APIC_SVR_OFF], APIC_SVR_ENABLE
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

op_hlt:
  hlt
  jmp op_done

op_run:
  xor eax, eax
  REPORT R_POLL
  cmp dword ptr gs:[PC_RUN_STOP], 0
  je op_run
  jmp op_done

# touch: the access at CPL0 right here, or at CPL3 through iretq; the CPL3 stub comes back with `ud2`,
# whose #UD handler (user_returned) resumes the interpreter. Not `syscall`: on kvm_pvm the LSTAR code
# then runs natively in a mode where `sti`, `hlt` and `wrmsr` take #GP (as `out` does in kvm-oracle
# §1.2), while exception entry from CPL3 gives a working CPL0. Either way the access runs with the
# script's IF, which is what KVM looks at when it decides between an async and a synchronous fault.
op_touch:
  mov gs:[PC_KSP], rsp                # where a `retry: false` touch resumes from the #PF handler
  mov rdi, gs:[PC_ARG_A]
  mov ecx, gs:[PC_ARG_C]
  test ecx, TOUCH_CPL3
  jnz touch_user
  test ecx, TOUCH_WRITE
  jz 1f
  add byte ptr [rdi], 0
  jmp op_done
1:
  mov al, [rdi]
  jmp op_done

touch_user:
  mov rax, gs:[PC_SELF]
  add rax, PC_USER_STACK
  pushfq
  pop rdx
  and edx, 0x202                      # the reserved bit and the script's IF
  lea rsi, [rip + user_read]
  test ecx, TOUCH_WRITE
  jz 1f
  lea rsi, [rip + user_write]
1:
  push SEL_USER_DS
  push rax
  push rdx
  push SEL_USER_CS
  push rsi
  iretq

# CPL3 code. rdi = the address to touch.
user_read:
  mov al, [rdi]
user_back_read:
  ud2
user_write:
  add byte ptr [rdi], 0
user_back_write:
  ud2

# From the #UD handler (or a given-up #PF): drop the exception frame and the CPL3 excursion. The gate
# cleared IF; the frame holds the IF the touch ran with, which is the script's.
user_returned:
  mov rax, [rsp + F_RFLAGS]
  mov rsp, gs:[PC_KSP]
  push rax
  popfq
  jmp op_done

panic:
  mov gs:[PC_PANIC_VEC], eax
  REPORT R_PANIC
1:
  cli
  hlt
  jmp 1b

# Interrupt and exception entry. Stubs push an error code (0 when the CPU pushes none) and the vector.
# Frame after the 15 pushes below: regs (120 bytes), vector @120, error code @128, RIP @136, CS @144,
# RFLAGS @152, RSP @160, SS @168.
.equ F_VEC, 120
.equ F_ERR, 128
.equ F_RIP, 136
.equ F_RFLAGS, 152

irq_common:
  push rax
  push rbx
  push rcx
  push rdx
  push rsi
  push rdi
  push rbp
  push r8
  push r9
  push r10
  push r11
  push r12
  push r13
  push r14
  push r15
  mov eax, [rsp + F_VEC]
  cmp eax, 32
  jae irq_external
  cmp eax, 14
  je page_fault
  cmp eax, 6
  je invalid_opcode
  cmp eax, 13
  jne exception_unexpected
  mov rbx, gs:[PC_GP_FIXUP]
  test rbx, rbx
  jz exception_unexpected
  mov qword ptr gs:[PC_GP_FIXUP], 0
  mov [rsp + F_RIP], rbx
  jmp irq_return
invalid_opcode:                       # the `ud2` that ends a CPL3 touch?
  mov rbx, [rsp + F_RIP]
  lea rcx, [rip + user_back_read]
  cmp rbx, rcx
  je user_returned
  lea rcx, [rip + user_back_write]
  cmp rbx, rcx
  je user_returned
exception_unexpected:
  mov rbx, [rsp + F_RIP]
  mov gs:[PC_PANIC_RIP], rbx
  mov rbx, [rsp + F_ERR]
  mov gs:[PC_PANIC_ERR], rbx
  jmp panic

# #PF: report CR2, the error code and the area's flags; clear the flags if asked. An async "page not
# present" (flags = 1) is waited out with `cli; test; sti; hlt` until a page-ready interrupt brings
# token == CR2 or the wakeup-all token (unless wait_for_ready is off); then iretq retries the access.
# Without a readable area, or with other flags, this is no async PF and a retry would fault forever:
# report it as a panic.
page_fault:
  mov rax, cr2
  mov gs:[PC_PF_CR2], rax
  mov rbx, [rsp + F_ERR]
  mov gs:[PC_PF_ERR], rbx
  xor ecx, ecx
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je 1f
  mov rbx, gs:[PC_AREA]
  mov ecx, [rbx]
1:
  mov gs:[PC_PF_FLAGS], ecx
  REPORT R_PF
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je pf_not_async
  test dword ptr gs:[PC_HFLAGS], HF_CLEAR_FLAGS
  jz 2f
  mov dword ptr [rbx], 0
2:
  cmp ecx, 1
  jne pf_not_async
  cmp dword ptr gs:[PC_OP], OP_TOUCH  # a `retry: false` touch gives up: the op reports the token
  jne 3f
  test dword ptr gs:[PC_ARG_C], TOUCH_NO_RETRY
  jz 3f
  mov rax, gs:[PC_PF_CR2]
  mov gs:[PC_RESULT], rax
  mov dword ptr gs:[PC_ABANDONED], 1
  jmp user_returned
3:
  test dword ptr gs:[PC_HFLAGS], HF_WAIT_READY
  jz irq_return
  mov eax, gs:[PC_PF_CR2]
  mov gs:[PC_PF_TOKEN], eax
  mov dword ptr gs:[PC_PF_READY], 0
  mov dword ptr gs:[PC_PF_WAITING], 1
5:
  cli
  cmp dword ptr gs:[PC_PF_READY], 0
  jne 4f
  sti
  hlt
  jmp 5b
4:
  mov dword ptr gs:[PC_PF_WAITING], 0
  jmp irq_return
pf_not_async:
  mov eax, 14
  jmp exception_unexpected

# An interrupt: report it with the area's flags and token, then run the script's page_ready handler
# in the model's order: EOI (eoi: first); for the page-ready vector only, release a #PF waiting for
# this token (or for any, on the wakeup-all token), clear the token and ACK (swapped by
# ack-before-clear); EOI (eoi: last).
irq_external:
  push qword ptr gs:[PC_GP_FIXUP]     # the interrupted op may be between setting and using its fixup
  mov esi, eax
  xor ecx, ecx
  xor edx, edx
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je 1f
  mov rbx, gs:[PC_AREA]
  mov ecx, [rbx]
  mov edx, [rbx + 4]
1:
  mov gs:[PC_IRQ_FLAGS], ecx
  mov gs:[PC_IRQ_TOKEN], edx
  mov eax, esi
  REPORT R_IRQ
  test dword ptr gs:[PC_HFLAGS], HF_EOI_FIRST
  jz 2f
  call eoi
2:
  cmp esi, gs:[PC_PR_VEC]
  jne 4f
  call wake
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
  pop qword ptr gs:[PC_GP_FIXUP]
irq_return:
  pop r15
  pop r14
  pop r13
  pop r12
  pop r11
  pop r10
  pop r9
  pop r8
  pop rbp
  pop rdi
  pop rsi
  pop rdx
  pop rcx
  pop rbx
  pop rax
  add rsp, 16
  iretq

# Releases the waiting #PF if the token read at entry (PC_IRQ_TOKEN) is its own or the wakeup-all.
wake:
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je 1f
  cmp dword ptr gs:[PC_PF_WAITING], 0
  je 1f
  mov eax, gs:[PC_IRQ_TOKEN]
  cmp eax, gs:[PC_PF_TOKEN]
  je 2f
  cmp eax, 0xffffffff
  jne 1f
2:
  mov dword ptr gs:[PC_PF_READY], 1
1:
  ret

clear_token:
  cmp dword ptr gs:[PC_AREA_VALID], 0
  je 1f
  test dword ptr gs:[PC_HFLAGS], HF_CLEAR_TOKEN
  jz 1f
  mov rbx, gs:[PC_AREA]
  mov dword ptr [rbx + 4], 0
1:
  ret

# WRMSR(MSR_KVM_ASYNC_PF_ACK) and its `ack` report; a #GP resumes at ack_faulted, inside this routine.
ack:
  test dword ptr gs:[PC_HFLAGS], HF_ACK
  jz 1f
  mov ecx, MSR_KVM_ASYNC_PF_ACK
  mov eax, gs:[PC_ACK_VAL]
  mov edx, gs:[PC_ACK_VAL + 4]
  lea rbx, [rip + ack_faulted]
  mov gs:[PC_GP_FIXUP], rbx
  wrmsr
  mov qword ptr gs:[PC_GP_FIXUP], 0
  xor eax, eax
  REPORT R_ACK
  ret
ack_faulted:
  mov eax, 1
  REPORT R_ACK
1:
  ret

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
  mov dword ptr [rax + APIC_EOI_OFF], 0
2:
  ret

# 256 stubs, 16 bytes apart. The CPU pushes an error code for vectors 8, 10-14, 17, 21, 29 and 30;
# the other stubs push 0 so every frame has the same shape.
.balign 16
.global irq_stubs
irq_stubs:
.set vec, 0
.rept 256
  .balign 16
  .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
  .else
  .byte 0x6a, 0x00
  .endif
  .byte 0x68
  .long vec
  .byte 0xe9
  .long irq_common - (. + 4)
  .set vec, vec + 1
.endr
.global lm_end
lm_end:
