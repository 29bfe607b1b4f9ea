/*
 * fs-bench for the Linux guest of `make bench-fs` (docs/benchmarks.md "File
 * system"): the same operations and output lines as Vireo's
 * guest-userspace/std-programs/fs-bench, on the ext4 disk mounted at DIR.
 * Built by vireo-bench-fs with `gcc -static -O2` into build/linux/.
 * Usage: fs-bench DIR [--drop-caches]
 *
 * Differences, all on Linux's side of the comparison:
 * - with --drop-caches, the page cache is dropped (sync; drop_caches) before seq_read_64MiB,
 *   rand_read_4KiB and the memory point, so those reads reach the device as
 *   Vireo's always do (the host's page cache still holds the image);
 * - rand_read_4KiB_direct repeats the random reads with O_DIRECT;
 * - random reads use pread (one system call; Vireo's std program seeks and
 *   reads);
 * - every result line also gives idle_ns, the time the kernel spent idle
 *   (/proc/timer_list idle + iowait sleep time): under -icount sleep=off a
 *   halted vCPU's clock jumps to the next timer, so the TSC difference is
 *   instructions plus idle time; instr= subtracts it.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <x86intrin.h>

#define MIB (1u << 20)
#define BIG_MIB 64
#define BLOCK 4096
#define RANDOM_READS 2000
#define SMALL_FILES 1000
#define SMALL_LEN 100
#define SEED 0x5eedf00d12345678ull

static int errors;
static double tsc_per_ns = 1.0;
static char dir[256];
static char big[300];
static char errbuf[512];

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Sum of idle_sleeptime and iowait_sleeptime over all CPUs, in ns. */
static uint64_t idle_ns(void)
{
	FILE *f = fopen("/proc/timer_list", "r");
	char line[256];
	uint64_t sum = 0, v;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, " .idle_sleeptime : %lu nsecs", &v) == 1 ||
		    sscanf(line, " .iowait_sleeptime: %lu nsecs", &v) == 1)
			sum += v;
	}
	fclose(f);
	return sum;
}

/* TSC ticks per ns of CLOCK_MONOTONIC, over a 20 ms busy loop. */
static void calibrate(void)
{
	uint64_t n0 = mono_ns(), t0 = __rdtsc(), n1;
	while ((n1 = mono_ns()) - n0 < 20000000ull)
		;
	tsc_per_ns = (double)(__rdtsc() - t0) / (double)(n1 - n0);
	printf("fs-bench: tsc_per_ns=%.6f\n", tsc_per_ns);
}

static int may_drop;

/* Only with --drop-caches (the guest's /init passes it), never on a host. */
static void drop_caches(void)
{
	int fd;
	if (!may_drop)
		return;
	sync();
	fd = open("/proc/sys/vm/drop_caches", O_WRONLY);
	if (fd < 0 || write(fd, "3\n", 2) != 2)
		printf("fs-bench: note=cannot drop caches\n");
	if (fd >= 0)
		close(fd);
}

typedef int (*op_fn)(uint64_t *ops, uint64_t *bytes);

/* Returns 0 when the operations worked. */
static int figure(const char *name, op_fn f)
{
	uint64_t ops = 0, bytes = 0, i0, i1, t0, t;
	int64_t busy;
	int rc;
	printf("fs-bench: begin %s\n", name);
	fflush(stdout);
	i0 = idle_ns();
	t0 = __rdtsc();
	rc = f(&ops, &bytes);
	t = __rdtsc() - t0;
	i1 = idle_ns();
	if (rc) {
		errors++;
		printf("fs-bench: %s error=%s\n", name, errbuf);
	} else {
		busy = (int64_t)t - (int64_t)((double)(i1 - i0) * tsc_per_ns);
		if (busy < 0)
			busy = 0;
		printf("fs-bench: %s ops=%lu bytes=%lu tsc=%lu idle_ns=%lu instr=%lu\n", name, ops, bytes, t,
		       i1 - i0, (uint64_t)busy / (ops ? ops : 1));
	}
	fflush(stdout);
	return rc;
}

#define FAIL(...) do { snprintf(errbuf, sizeof errbuf, __VA_ARGS__); return -1; } while (0)

static unsigned char *pattern;
static unsigned char *buf;

static int write_big(uint64_t *ops, uint64_t *bytes)
{
	int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		FAIL("create %s: %m", big);
	for (int i = 0; i < BIG_MIB; i++)
		if (write(fd, pattern, MIB) != MIB)
			FAIL("write MiB %d: %m", i);
	if (fsync(fd))
		FAIL("fsync: %m");
	close(fd);
	*ops = BIG_MIB;
	*bytes = (uint64_t)BIG_MIB * MIB;
	return 0;
}

static int read_big(uint64_t *ops, uint64_t *bytes)
{
	int fd = open(big, O_RDONLY);
	ssize_t n;
	if (fd < 0)
		FAIL("open %s: %m", big);
	while ((n = read(fd, buf, MIB)) > 0) {
		++*ops;
		*bytes += (uint64_t)n;
	}
	close(fd);
	if (n < 0)
		FAIL("read at %lu: %m", *bytes);
	if (*bytes != (uint64_t)BIG_MIB * MIB)
		FAIL("read %lu bytes, wrote %u", *bytes, BIG_MIB * MIB);
	return 0;
}

static int random_reads_flags(int flags, uint64_t *ops, uint64_t *bytes)
{
	uint64_t s = SEED ^ 0x4b1d, blocks = (uint64_t)BIG_MIB * MIB / BLOCK, off = 0;
	int fd = open(big, O_RDONLY | flags);
	if (fd < 0)
		FAIL("open %s: %m", big);
	for (int i = 0; i < RANDOM_READS; i++) {
		off = (xorshift(&s) % blocks) * BLOCK;
		if (pread(fd, buf, BLOCK, (off_t)off) != BLOCK)
			FAIL("read 4 KiB at %lu: %m", off);
	}
	close(fd);
	if (memcmp(buf, pattern + off % MIB, BLOCK))
		FAIL("the 4 KiB at %lu differ from what was written", off);
	*ops = RANDOM_READS;
	*bytes = (uint64_t)RANDOM_READS * BLOCK;
	return 0;
}

static int random_reads(uint64_t *ops, uint64_t *bytes)
{
	return random_reads_flags(0, ops, bytes);
}

static int random_reads_direct(uint64_t *ops, uint64_t *bytes)
{
	return random_reads_flags(O_DIRECT, ops, bytes);
}

static void small_name(char *out, size_t len, int i)
{
	snprintf(out, len, "%s/fsb-s%04d", dir, i);
}

static int create_small(uint64_t *ops, uint64_t *bytes)
{
	char p[300], data[SMALL_LEN];
	memset(data, 'x', sizeof data);
	for (int i = 0; i < SMALL_FILES; i++) {
		small_name(p, sizeof p, i);
		int fd = open(p, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0)
			FAIL("create %s: %m", p);
		if (write(fd, data, SMALL_LEN) != SMALL_LEN)
			FAIL("write %s: %m", p);
		close(fd);
	}
	*ops = SMALL_FILES;
	*bytes = (uint64_t)SMALL_FILES * SMALL_LEN;
	return 0;
}

static int stat_small(uint64_t *ops, uint64_t *bytes)
{
	char p[300];
	struct stat st;
	(void)bytes;
	for (int i = 0; i < SMALL_FILES; i++) {
		small_name(p, sizeof p, i);
		if (stat(p, &st))
			FAIL("stat %s: %m", p);
		if (st.st_size != SMALL_LEN)
			FAIL("%s has %ld bytes, not %d", p, (long)st.st_size, SMALL_LEN);
	}
	*ops = SMALL_FILES;
	return 0;
}

static int delete_small(uint64_t *ops, uint64_t *bytes)
{
	char p[300];
	(void)bytes;
	for (int i = 0; i < SMALL_FILES; i++) {
		small_name(p, sizeof p, i);
		if (unlink(p))
			FAIL("remove %s: %m", p);
	}
	*ops = SMALL_FILES;
	return 0;
}

/* MemFree and Cached from /proc/meminfo, in KiB; 0 when unreadable. */
static void meminfo(uint64_t *free_kib, uint64_t *cached_kib)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[128];
	uint64_t v;
	*free_kib = *cached_kib = 0;
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		if (sscanf(line, "MemFree: %lu kB", &v) == 1)
			*free_kib = v;
		else if (sscanf(line, "Cached: %lu kB", &v) == 1)
			*cached_kib = v;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	uint64_t s = SEED, fb, cb, fa, ca;
	int rc;
	snprintf(dir, sizeof dir, "%s", argc > 1 ? argv[1] : "/mnt");
	may_drop = argc > 2 && !strcmp(argv[2], "--drop-caches");
	snprintf(big, sizeof big, "%s/fsb-big", dir);
	if (posix_memalign((void **)&buf, BLOCK, MIB) || posix_memalign((void **)&pattern, BLOCK, MIB)) {
		printf("fs-bench: start error=out of memory\n");
		return 1;
	}
	for (unsigned i = 0; i < MIB; i += 8) {
		uint64_t x = xorshift(&s);
		memcpy(pattern + i, &x, 8);
	}
	printf("fs-bench: start dir=%s\n", dir);
	calibrate();
	figure("seq_write_64MiB", write_big);
	drop_caches();
	figure("seq_read_64MiB", read_big);
	drop_caches();
	figure("rand_read_4KiB", random_reads);
	figure("rand_read_4KiB_direct", random_reads_direct);
	figure("create_1000", create_small);
	figure("stat_1000", stat_small);
	figure("delete_1000", delete_small);
	drop_caches();
	meminfo(&fb, &cb);
	rc = figure("read1_64MiB", read_big);
	rc |= figure("read2_64MiB", read_big);
	meminfo(&fa, &ca);
	if (rc) {
		errors++;
		printf("fs-bench: mem error=the reads failed\n");
	} else if (!fb || !fa) {
		errors++;
		printf("fs-bench: mem error=no MemFree in /proc/meminfo\n");
	} else {
		printf("fs-bench: mem free_before_kib=%lu free_after_kib=%lu growth_kib=%ld cached_before_kib=%lu "
		       "cached_after_kib=%lu\n", fb, fa, (long)fb - (long)fa, cb, ca);
	}
	if (unlink(big))
		printf("fs-bench: cleanup error=remove %s: %m\n", big);
	printf("fs-bench: done errors=%d\n", errors);
	fflush(stdout);
	return errors ? 1 : 0;
}
