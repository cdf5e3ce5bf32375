// The host's core-to-core hand-over time: one pinned thread writes a buffer, another pinned thread
// on a different CPU reads it, over and over. On a shared VM the host may at times place the
// vCPUs where a cache line moving between them costs several times as long; every multi-threaded
// run then slows by however much data its threads pass to each other, so benchmarks record it.
#define _GNU_SOURCE
#include "replk_cpuinfo.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__linux__)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

struct handover {
    float *buffer;
    size_t floats;
    int rounds;
    int reader_cpu;
    atomic_int phase;
    volatile float sink;
};

static int pin_self(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

static void *reader(void *arg) {
    struct handover *h = arg;
    float acc = 0;
    int pinned = pin_self(h->reader_cpu) == 0;
    for (int i = 0; i < h->rounds; i++) {
        while (atomic_load_explicit(&h->phase, memory_order_acquire) != 2 * i + 1) {}
        // Unpinned, the two threads could share a CPU and the figure would mean nothing; still
        // hand every round back so that the writer finishes.
        if (pinned) {
            for (size_t j = 0; j < h->floats; j += 16) acc += h->buffer[j];
        }
        atomic_store_explicit(&h->phase, pinned ? 2 * i + 2 : -1, memory_order_release);
        if (!pinned) break;
    }
    h->sink = acc;
    return NULL;
}

static double seconds(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int compare_doubles(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double replk_core_handover_microseconds(int rounds) {
    if (rounds < 1) rounds = 1;
    cpu_set_t allowed;
    if (sched_getaffinity(0, sizeof allowed, &allowed) != 0) return -1;
    int cpus[2], found = 0;
    for (int c = 0; c < CPU_SETSIZE && found < 2; c++) {
        if (CPU_ISSET(c, &allowed)) cpus[found++] = c;
    }
    if (found < 2) return -1;
    struct handover h;
    memset(&h, 0, sizeof h);
    h.floats = (1 << 20) / sizeof(float);
    h.rounds = rounds;
    h.reader_cpu = cpus[1];
    h.buffer = aligned_alloc(64, h.floats * sizeof(float));
    double *times = malloc((size_t)rounds * sizeof(double));
    if (!h.buffer || !times) { free(h.buffer); free(times); return -1; }
    memset(h.buffer, 0, h.floats * sizeof(float));
    // The caller's affinity is restored afterwards: the probe runs between a tool's timed runs.
    pthread_t self = pthread_self();
    cpu_set_t before;
    int restore = pthread_getaffinity_np(self, sizeof before, &before) == 0;
    double result = -1;
    pthread_t thread;
    if (pin_self(cpus[0]) == 0 && pthread_create(&thread, NULL, reader, &h) == 0) {
        int ok = 1;
        for (int i = 0; i < rounds && ok; i++) {
            double start = seconds();
            for (size_t j = 0; j < h.floats; j += 16) h.buffer[j] = (float)(i + (int)j);
            atomic_store_explicit(&h.phase, 2 * i + 1, memory_order_release);
            int p;
            while ((p = atomic_load_explicit(&h.phase, memory_order_acquire)) != 2 * i + 2) {
                if (p == -1) { ok = 0; break; }
            }
            times[i] = seconds() - start;
        }
        pthread_join(thread, NULL);
        if (ok) {
            qsort(times, (size_t)rounds, sizeof(double), compare_doubles);
            result = 1e6 * times[rounds / 2];
        }
    }
    if (restore) pthread_setaffinity_np(self, sizeof before, &before);
    free(h.buffer);
    free(times);
    return result;
}
#else
double replk_core_handover_microseconds(int rounds) { (void)rounds; return -1; }
#endif
