/* exec-stamp PROGRAM [ARG...]: runs PROGRAM with VMM_HARNESS_EXEC_NS set to
 * CLOCK_MONOTONIC taken just before execve, so vmm-harness's timeline starts
 * at exec, not at its main() (issue 15's "exec -> first KVM_RUN"). The test
 * bed's `testbed.bench=vmm` (tests/testbed/init) starts the harness with it;
 * on the host tests/src/bench/vmm/exec.rs does the same after fork. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct timespec t;
	char ns[32];

	if (argc < 2) {
		fputs("usage: exec-stamp PROGRAM [ARG...]\n", stderr);
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	snprintf(ns, sizeof ns, "%lld", (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
	if (setenv("VMM_HARNESS_EXEC_NS", ns, 1) != 0) {
		perror("setenv");
		return 1;
	}
	execv(argv[1], argv + 1);
	perror(argv[1]);
	return 127;
}
