/*
 * idle-vm: holds one empty KVM VM open for the whole test-bed run inside L1.
 *
 * Why: KVM flips the `preempt_notifier_key` static key when the first VM is
 * created and again when the last one is destroyed. QEMU 7.2's TCG can keep
 * running the stale code after that patch, freezing L1 (about 1 boot in 20;
 * /work/shared/docs/kvm-test-bed.md). With one VM held from before the first
 * test until power-off, the key flips exactly once, before any test runs.
 *
 * Built statically by tests/testbed/build.sh (no libraries to copy).
 */
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define KVM_CREATE_VM 0xAE01 /* _IO(KVMIO, 0x01) */

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
	/* The parent waits for this line before starting any test. */
	printf("idle-vm: holding VM fd %d\n", vm);
	fflush(stdout);
	for (;;)
		pause();
}
