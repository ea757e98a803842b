// SPDX-License-Identifier: GPL-2.0-only
/*
 * cx16_flags: does this (virtual) CPU's CMPXCHG16B leave RFLAGS as a real
 * one does?
 *
 * QEMU 7.2's TCG runs CMPXCHG16B in a helper that rebuilds the flags from
 * the flag state last stored in the CPU, without storing the translator's
 * current one first. After SYSRET or IRET that stored state says "the
 * saved operand is RFLAGS", so the helper takes whatever operand the last
 * arithmetic instruction saved (here the ADD's source) as the flags. A
 * kernel that takes an interrupt there pushes that value as RFLAGS and
 * dies of a double fault on the way back (seen in SLUB's per-CPU fast
 * path, whose retry follows a failed CMPXCHG16B).
 *
 * The sequence below is the one SLUB runs: an ADD, a logical op with a
 * memory operand (the load makes the emulator store the ADD's operand),
 * CMPXCHG16B; then PUSHF. It runs right after a system call returns.
 * Prints one line: "cx16_flags: ok", "cx16_flags: broken (...)" or
 * "cx16_flags: no cx16" (the CPU does not offer the instruction).
 */
#include <cpuid.h>
#include <stdio.h>
#include <sys/syscall.h>

/* CMPXCHG16B needs 16-byte alignment: the ABI gives __int128 that */
static unsigned __int128 cell;
static unsigned long word = 7;

/*
 * RFLAGS bits this program never sets: RF and VM read as 0 in a pushed
 * copy, VIF/VIP are unused in 64-bit mode, AC only if we set it; ID (21)
 * is left out. Bits 22-31 are reserved.
 */
#define JUNK_BITS	0xffdf0000ul

int main(void)
{
	unsigned int a, b, c, d;
	unsigned long flags, bad = 0;
	int i;

	if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_CMPXCHG16B)) {
		printf("cx16_flags: no cx16\n");
		return 0;
	}
	for (i = 0; i < 1000; i++) {
		/* the helper's flags are 32 bits: only the low half shows */
		unsigned long junk = 0x5a5a0000ul | i;

		asm volatile("mov %[nr], %%eax\n\t"
			     "syscall\n\t"
			     "mov %[junk], %%r8\n\t"
			     "add %%r8, %%r9\n\t"
			     "xor %[word], %%r10\n\t"
			     "xor %%eax, %%eax\n\t"
			     "xor %%edx, %%edx\n\t"
			     "xor %%ecx, %%ecx\n\t"
			     "mov $1, %%ebx\n\t"
			     "cmpxchg16b %[cell]\n\t"
			     /* PUSHF below the red zone; LEA sets no flags */
			     "lea -128(%%rsp), %%rsp\n\t"
			     "pushfq\n\t"
			     "pop %[flags]\n\t"
			     "lea 128(%%rsp), %%rsp\n\t"
			     : [flags] "=r" (flags), [cell] "+m" (cell)
			     : [nr] "i" (SYS_getppid), [junk] "r" (junk),
			       [word] "m" (word)
			     : "rax", "rbx", "rcx", "rdx", "r8", "r9", "r10",
			       "r11", "memory", "cc");
		if (flags & JUNK_BITS)
			bad = flags;
	}
	if (bad)
		printf("cx16_flags: broken (RFLAGS read back as %#lx)\n", bad);
	else
		printf("cx16_flags: ok\n");
	return 0;
}
