/*
 * idle-vm: holds one empty KVM VM open for the whole test-bed run inside L1.
 *
 * Why: KVM flips the `preempt_notifier_key` static key when the first VM is
 * created and again when the last one is destroyed. QEMU 7.2's TCG can keep
 * running the stale code after that patch, freezing L1 (about 1 boot in 20;
 * /work/shared/docs/kvm-test-bed.md). With one VM held from before the first
 * test until power-off, the key flips exactly once, before any test runs.
 *
 * The VM also gets an in-kernel irqchip and one vCPU that never runs: KVM
 * counts vCPUs whose local APIC is still software-disabled in another static
 * key (`apic_sw_disabled`), raised when each test VM's vCPU is created and
 * dropped once its guest enables the APIC, i.e. patched twice per test VM.
 * This vCPU's APIC stays disabled, so that key too stays set the whole run.
 *
 * Built statically by tests/testbed/build.sh (no libraries to copy).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_CREATE_VM 0xAE01       /* _IO(KVMIO, 0x01) */
#define KVM_CREATE_VCPU 0xAE41     /* _IO(KVMIO, 0x41) */
#define KVM_CREATE_IRQCHIP 0xAE60  /* _IO(KVMIO, 0x60) */

int main(void)
{
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0) {
		perror("idle-vm: /dev/kvm");
		return 1;
	}
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("idle-vm: KVM_CREATE_VM");
		return 1;
	}
	if (ioctl(vm, KVM_CREATE_IRQCHIP, 0) < 0) {
		perror("idle-vm: KVM_CREATE_IRQCHIP");
		return 1;
	}
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (vcpu < 0) {
		perror("idle-vm: KVM_CREATE_VCPU");
		return 1;
	}
	/* The parent waits for this line before starting any test. */
	printf("idle-vm: holding VM fd %d with vCPU fd %d\n", vm, vcpu);
	fflush(stdout);
	for (;;)
		pause();
}
