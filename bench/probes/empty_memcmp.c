/* Counts zero-length memcmp/bcmp calls through a dangling pointer (an empty
 * Rust String or Vec points at 0x1), by caller. glibc's AVX-512 memcmp loads
 * through the pointer under an all-zero mask: a suppressed fault, which costs
 * a microcode assist (~100 ns a call here against ~2 ns; docs/performance.md,
 * "memcmp of nothing"). Every other comparison is answered bytewise, so this
 * is for counting, not for timing.
 *
 *   gcc -O2 -shared -fPIC bench/probes/empty_memcmp.c -o /tmp/empty_memcmp.so -ldl
 *   LD_PRELOAD=/tmp/empty_memcmp.so EMPTY_MEMCMP_OUT=/tmp/calls.txt target/release/ministack
 *   (load it, stop it with SIGTERM; then per line: count, object+offset)
 *   addr2line -f -C -e target/release/ministack <offset>
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SLOTS 4096
static uintptr_t caller[SLOTS];
static unsigned long calls[SLOTS];
static unsigned long total;

static int dangling(const void *a, const void *b) {
    return (uintptr_t)a < 4096 || (uintptr_t)b < 4096;
}

static void count(uintptr_t ra) {
    for (unsigned i = 0; i < SLOTS; i++) {
        unsigned j = (unsigned)((ra >> 2) + i) % SLOTS;
        uintptr_t seen = __atomic_load_n(&caller[j], __ATOMIC_RELAXED);
        if (seen == 0) {
            __atomic_compare_exchange_n(&caller[j], &seen, ra, 0, __ATOMIC_RELAXED,
                                        __ATOMIC_RELAXED);
        }
        if (__atomic_load_n(&caller[j], __ATOMIC_RELAXED) == ra) {
            __atomic_add_fetch(&calls[j], 1, __ATOMIC_RELAXED);
            break;
        }
    }
    __atomic_add_fetch(&total, 1, __ATOMIC_RELAXED);
}

static int compare(const void *a, const void *b, size_t n, uintptr_t ra) {
    if (n == 0) {
        if (dangling(a, b)) count(ra);
        return 0;
    }
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i]) return x[i] - y[i];
    return 0;
}

int memcmp(const void *a, const void *b, size_t n) {
    return compare(a, b, n, (uintptr_t)__builtin_return_address(0));
}

/* LLVM turns `memcmp(..) == 0` into bcmp: Rust's slice equality calls this. */
int bcmp(const void *a, const void *b, size_t n) {
    return compare(a, b, n, (uintptr_t)__builtin_return_address(0));
}

__attribute__((destructor)) static void report(void) {
    const char *path = getenv("EMPTY_MEMCMP_OUT");
    FILE *f = fopen(path ? path : "/tmp/empty_memcmp.txt", "w");
    if (!f) return;
    fprintf(f, "total %lu\n", total);
    for (unsigned i = 0; i < SLOTS; i++) {
        if (!caller[i]) continue;
        Dl_info d;
        if (!dladdr((void *)caller[i], &d)) continue;
        fprintf(f, "%lu %s 0x%lx\n", calls[i], d.dli_fname,
                (unsigned long)(caller[i] - (uintptr_t)d.dli_fbase));
    }
    fclose(f);
}
