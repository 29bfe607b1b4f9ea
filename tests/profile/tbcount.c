/*
 * tbcount: a QEMU TCG plugin (plugin API version 1, QEMU 7.2) that counts
 * the guest instructions executed per translation block, for finding where
 * an operation's instructions go (docs/benchmarks.md, "Profiling").
 *
 * Every translation block gets an inline counter (no callback, so the guest
 * runs at nearly full TCG speed). A thread of the plugin writes a snapshot
 * of all counters to PREFIX.N (N = 0, 1, ...) whenever the file PREFIX.req
 * exists, and removes PREFIX.req after; a last snapshot is written at exit.
 * A line per block that ran: guest address, host address of its first
 * instruction (guest physical memory: it tells processes that share virtual
 * addresses apart), instructions in the block, executions, and the first
 * instruction's bytes (tests/profile/report.py matches them against each
 * binary to tell which one ran).
 *
 *   qemu-system-x86_64 ... -plugin build/profile/tbcount.so,prefix=/tmp/p
 *
 * The declarations below are the few functions of QEMU's plugin API this
 * uses (Debian ships no qemu-plugin.h); their signatures are those of API
 * version 1, which QEMU 7.2 checks through `qemu_plugin_version`.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef uint64_t qemu_plugin_id_t;
struct qemu_plugin_tb;
struct qemu_plugin_insn;
enum { QEMU_PLUGIN_INLINE_ADD_U64 = 0 };

__attribute__((visibility("default"))) int qemu_plugin_version = 1;

extern void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t,
                                                  void (*)(qemu_plugin_id_t, struct qemu_plugin_tb *));
extern size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *);
extern uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *);
extern struct qemu_plugin_insn *qemu_plugin_tb_get_insn(const struct qemu_plugin_tb *, size_t);
extern void *qemu_plugin_insn_haddr(const struct qemu_plugin_insn *);
extern const void *qemu_plugin_insn_data(const struct qemu_plugin_insn *);
extern size_t qemu_plugin_insn_size(const struct qemu_plugin_insn *);
extern void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *, int, void *, uint64_t);
extern void qemu_plugin_register_atexit_cb(qemu_plugin_id_t, void (*)(qemu_plugin_id_t, void *), void *);

struct block {
    uint64_t vaddr, haddr, insns, count;
    unsigned char bytes[16];
    size_t nbytes;
    struct block *next;
};

static struct block *blocks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static char prefix[512] = "/tmp/tbcount";
static int next_snapshot;

static void snapshot(void)
{
    char path[600];
    snprintf(path, sizeof path, "%s.%d.tmp", prefix, next_snapshot);
    FILE *f = fopen(path, "w");
    if (!f) {
        return;
    }
    pthread_mutex_lock(&lock);
    for (struct block *b = blocks; b; b = b->next) {
        uint64_t n = __atomic_load_n(&b->count, __ATOMIC_RELAXED);
        if (n == 0) {
            continue;
        }
        fprintf(f, "%lx %lx %lu %lu ", (unsigned long)b->vaddr, (unsigned long)b->haddr,
                (unsigned long)b->insns, (unsigned long)n);
        for (size_t i = 0; i < b->nbytes; i++) {
            fprintf(f, "%02x", b->bytes[i]);
        }
        fputc('\n', f);
    }
    pthread_mutex_unlock(&lock);
    fclose(f);
    /* Complete files only: the reader waits for PREFIX.N itself. */
    char done[600];
    snprintf(done, sizeof done, "%s.%d", prefix, next_snapshot++);
    rename(path, done);
}

static void *watch(void *unused)
{
    (void)unused;
    char req[600];
    snprintf(req, sizeof req, "%s.req", prefix);
    for (;;) {
        if (access(req, F_OK) == 0) {
            snapshot();
            unlink(req);
        }
        usleep(20000);
    }
    return NULL;
}

static void translated(qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
    (void)id;
    struct block *b = calloc(1, sizeof *b);
    if (!b) {
        return;
    }
    b->vaddr = qemu_plugin_tb_vaddr(tb);
    b->insns = qemu_plugin_tb_n_insns(tb);
    struct qemu_plugin_insn *first = qemu_plugin_tb_get_insn(tb, 0);
    b->haddr = (uint64_t)(uintptr_t)qemu_plugin_insn_haddr(first);
    b->nbytes = qemu_plugin_insn_size(first);
    if (b->nbytes > sizeof b->bytes) {
        b->nbytes = sizeof b->bytes;
    }
    memcpy(b->bytes, qemu_plugin_insn_data(first), b->nbytes);
    qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->count, 1);
    pthread_mutex_lock(&lock);
    b->next = blocks;
    blocks = b;
    pthread_mutex_unlock(&lock);
}

static void at_exit(qemu_plugin_id_t id, void *unused)
{
    (void)id;
    (void)unused;
    snapshot();
}

__attribute__((visibility("default"))) int qemu_plugin_install(qemu_plugin_id_t id, const void *info, int argc,
                                                               char **argv)
{
    (void)info;
    for (int i = 0; i < argc; i++) {
        if (strncmp(argv[i], "prefix=", 7) == 0) {
            snprintf(prefix, sizeof prefix, "%s", argv[i] + 7);
        }
    }
    qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
    qemu_plugin_register_atexit_cb(id, at_exit, NULL);
    pthread_t t;
    if (pthread_create(&t, NULL, watch, NULL) != 0) {
        return -1;
    }
    pthread_detach(t);
    return 0;
}
