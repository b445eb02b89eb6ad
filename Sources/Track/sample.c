/* Sampling mode (HEAPSNAP_SAMPLE=R): each thread counts down an exponentially distributed number of
 * bytes with mean R and records only the allocation during which the count reaches zero. Sample
 * points then form a Poisson process of rate 1/R over the allocated bytes, so a block of k bytes is
 * recorded with probability p(k) = 1 - e^(-k/R), independently of every other block, and weighing it
 * by 1/p(k) (jemalloc's per-size unbiasing, Docs/DESIGN.md says why this one) makes every sum over
 * recorded blocks -- live bytes of one stack, its allocations -- an unbiased estimate of the same sum
 * over all blocks. The weight depends on the size alone, so a free subtracts exactly what its
 * allocation added without storing it.
 *
 * A free must learn cheaply that its block was never recorded: tables of counters indexed by a hash
 * of the address, raised when a recorded block enters the live table and lowered when it leaves. A
 * zero counter proves the block is not there: such a free reads one byte of an 8 KiB table (sample.h)
 * and writes nothing.
 *
 * No libm (the tracker needs nothing but libc): ln and e^x are computed here, on recorded
 * allocations only. */
#include "sample.h"

#include <string.h>

/* The wide level: 2^17 four-bit counters (64 KiB, 16 pages), mapped when sampling starts; eight to a
 * 32-bit word, the group one quick bit stands for. Read only when the quick level says "maybe", so
 * its size costs the common free nothing; it is small too because each of its probes misses cache
 * and TLB (at 16-bit counters, 256 KiB, these misses were ~11 % of the churn benchmark's CPU while
 * it was the only level). A counter that reaches 15 stays there: it then only ever answers "maybe",
 * never a wrong "no". */
#define FILTER_BITS 17
#define FILTER_WORDS ((size_t)1 << (FILTER_BITS - 3))
#define STUCK 0xFu

static _Atomic uint32_t *filter; /* FILTER_WORDS words of eight counters, mapped at start when sampling */
/* In .bss: untouched (no page) unless sampling records a block, and at a link-time address, so the
 * probe loads no pointer first. */
_Atomic uint64_t hs_sample_quick[(1u << HS_SAMPLE_QUICK_BITS) / 64] __attribute__((aligned(64)));
/* Writers of the filter take this (a counter and its group's bit change together); readers take
 * nothing. Held only inside a live-table shard lock, and fork holds all of those, so a fork never
 * copies it held. */
static atomic_flag filter_lock = ATOMIC_FLAG_INIT;
static _Atomic uint32_t thread_ordinal;

__thread struct hs_sampler hs_sampler __attribute__((tls_model("initial-exec")));

/* Sampling starts only once the filter exists: a block recorded without its counter would be missed
 * by its free. */
int hs_sample_init(void) {
    if (!hs_config.sample_requested || hs_config.sample_rate) return 0;
    if (hs_stack_count() != 0) { /* recorded exactly already (before the environment could be read) */
        hs_config.sample_requested = 0;
        hs_warn("HEAPSNAP_SAMPLE came too late for this process; tracking every allocation", NULL, 0);
        return -1;
    }
    if (!filter && !(filter = hs_map(FILTER_WORDS * sizeof *filter))) {
        hs_config.sample_requested = 0;
        hs_warn("cannot map the sampling filter; tracking every allocation instead", NULL, 0);
        return -1;
    }
    /* the quick level's pages count as the tracker's own memory from now on */
    atomic_fetch_add_explicit(&hs_tracker_bytes, sizeof hs_sample_quick, memory_order_relaxed);
    hs_config.sample_rate = hs_config.sample_requested;
    return 0;
}

/* ---------------------------------------------------------------- ln and e^-x without libm */

/* ln x for x > 0: x = m 2^e with m in [sqrt(1/2), sqrt(2)), ln m = 2 atanh(z), z = (m-1)/(m+1),
 * |z| < 0.172, so the odd series to z^17 is accurate to 1e-15. Horner on constants: one division. */
static double log_positive(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    int e = (int)((bits >> 52) & 0x7FF) - 1023;
    bits = (bits & 0x000FFFFFFFFFFFFFull) | 0x3FF0000000000000ull;
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    double z = (m - 1) / (m + 1), z2 = z * z;
    double series = 1.0 / 17;
    series = series * z2 + 1.0 / 15;
    series = series * z2 + 1.0 / 13;
    series = series * z2 + 1.0 / 11;
    series = series * z2 + 1.0 / 9;
    series = series * z2 + 1.0 / 7;
    series = series * z2 + 1.0 / 5;
    series = series * z2 + 1.0 / 3;
    series = series * z2 + 1.0;
    return e * 0.6931471805599453 + 2 * z * series;
}

/* 1/k! for k = 0..20: the Taylor coefficients of e^x, so that no series below divides */
static const double inverse_factorial[21] = {
    1.0, 1.0, 1.0 / 2, 1.0 / 6, 1.0 / 24, 1.0 / 120, 1.0 / 720, 1.0 / 5040, 1.0 / 40320, 1.0 / 362880,
    1.0 / 3628800, 1.0 / 39916800, 1.0 / 479001600, 1.0 / 6227020800.0, 1.0 / 87178291200.0,
    1.0 / 1307674368000.0, 1.0 / 20922789888000.0, 1.0 / 355687428096000.0, 1.0 / 6402373705728000.0,
    1.0 / 121645100408832000.0, 1.0 / 2432902008176640000.0};

/* 1 - e^(-x) for x >= 0, accurate also for tiny x (where 1 - exp(-x) would cancel). */
static double one_minus_exp_neg(double x) {
    if (x > 40) return 1.0;
    if (x < 0.5) { /* x - x^2/2! + x^3/3! - ... to x^n/n!, by Horner; the first term left out,
                    * x^(n+1)/(n+1)!, is below 1e-19 of the sum for each range of x */
        int n = x < 1.0 / 64 ? 8 : x < 1.0 / 8 ? 12 : 18;
        double sum = inverse_factorial[n];
        for (int k = n - 1; k >= 1; k--) sum = inverse_factorial[k] - x * sum;
        return x * sum;
    }
    /* e^-x = 2^-n e^-r, x = n ln2 + r, 0 <= r < ln2 */
    int n = (int)(x / 0.6931471805599453);
    double r = x - n * 0.6931471805599453, e = inverse_factorial[20];
    for (int k = 19; k >= 0; k--) e = inverse_factorial[k] - r * e;
    uint64_t scale = (uint64_t)(1023 - n) << 52; /* 2^-n, n <= 57 */
    double half_power;
    memcpy(&half_power, &scale, sizeof half_power);
    return 1 - e * half_power;
}

/* ---------------------------------------------------------------- the countdown */

static uint64_t next_random(struct hs_sampler *s) {
    s->rng ^= s->rng >> 12;
    s->rng ^= s->rng << 25;
    s->rng ^= s->rng >> 27;
    return s->rng * 0x2545F4914F6CDD1Dull;
}

/* Exponential with mean R, at least 1 byte: -R ln u, u uniform in (0, 1]. */
static int64_t draw(struct hs_sampler *s) {
    double u = ((double)(next_random(s) >> 11) + 1.0) * (1.0 / 9007199254740992.0);
    double bytes = -(double)hs_config.sample_rate * log_positive(u);
    if (bytes < 1) return 1;
    if (bytes > 9.0e18) return INT64_MAX;
    return (int64_t)bytes;
}

/* Threads get distinct streams: the seed (HEAPSNAP_SAMPLE_SEED, else the clock and pid) mixed with
 * the order in which they first allocate. */
static void seed(struct hs_sampler *s) {
    uint64_t base = hs_config.sample_seed ? hs_config.sample_seed : hs_monotonic_ns() ^ ((uint64_t)hs_pid << 32);
    uint64_t z = base + 0x9E3779B97F4A7C15ull * (atomic_fetch_add(&thread_ordinal, 1) + 1);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    s->rng = (z ^ (z >> 31)) | 1;
    s->left = draw(s);
}

bool hs_sample_crossed(uint64_t size) {
    struct hs_sampler *s = &hs_sampler;
    if (s->rng == 0) {
        seed(s);
        if ((uint64_t)s->left > size) {
            s->left -= (int64_t)size;
            return false;
        }
    }
    /* the count reached zero inside this block: it is recorded; the next point is drawn from the
     * rest of it (memoryless: the bytes after the point start a fresh exponential wait) */
    uint64_t rest = size - (uint64_t)s->left;
    for (;;) {
        s->left = draw(s);
        if ((uint64_t)s->left > rest) break;
        rest -= (uint64_t)s->left;
    }
    s->left -= (int64_t)rest;
    return true;
}

struct hs_weight hs_sample_weight(uint64_t size) {
    double p = one_minus_exp_neg((double)size / (double)hs_config.sample_rate);
    if (size == 0) return (struct hs_weight){0, HS_SAMPLE_UNIT}; /* p(0) = 0: never drawn, but realloc(p, 0) */
    double inverse = 1 / p, bytes = (double)size * inverse, count = (double)HS_SAMPLE_UNIT * inverse;
    return (struct hs_weight){(uint64_t)(bytes + 0.5), (uint64_t)(count + 0.5)};
}

/* ---------------------------------------------------------------- the filter */

/* The counter's slot: the hash's top 17 bits, whose top 14 pick the quick bit. */
static inline size_t filter_slot(uint64_t hash) { return (size_t)(hash >> (64 - FILTER_BITS)); }

static inline void lock_filter(void) {
    while (atomic_flag_test_and_set_explicit(&filter_lock, memory_order_acquire)) __builtin_ia32_pause();
}
static inline void unlock_filter(void) { atomic_flag_clear_explicit(&filter_lock, memory_order_release); }

/* Raised before the block is published (it enters the live table under its lock and the program only
 * gets the address after this returns), and lowered after it left the table. The bit is set after
 * its counter, and cleared only when its whole group is zero: under the lock, so that no raise can
 * fall between that test and the clear. */
void hs_sample_filter_add(uint32_t domain, uintptr_t address) {
    uint64_t hash = hs_sample_hash(domain, address);
    size_t slot = filter_slot(hash);
    unsigned shift = (slot % 8) * 4;
    uint32_t quick = hs_sample_quick_slot(hash);
    lock_filter();
    uint32_t word = atomic_load_explicit(&filter[slot / 8], memory_order_relaxed);
    if (((word >> shift) & 0xF) != STUCK) atomic_store_explicit(&filter[slot / 8], word + (1u << shift), memory_order_relaxed);
    uint64_t bits = atomic_load_explicit(&hs_sample_quick[quick / 64], memory_order_relaxed);
    if (!((bits >> (quick % 64)) & 1))
        atomic_store_explicit(&hs_sample_quick[quick / 64], bits | (uint64_t)1 << (quick % 64), memory_order_relaxed);
    unlock_filter();
}

void hs_sample_filter_remove(uint32_t domain, uintptr_t address) {
    uint64_t hash = hs_sample_hash(domain, address);
    size_t slot = filter_slot(hash);
    unsigned shift = (slot % 8) * 4;
    uint32_t quick = hs_sample_quick_slot(hash);
    lock_filter();
    uint32_t word = atomic_load_explicit(&filter[slot / 8], memory_order_relaxed);
    unsigned n = (word >> shift) & 0xF;
    if (n != STUCK && n != 0) {
        word -= 1u << shift;
        atomic_store_explicit(&filter[slot / 8], word, memory_order_relaxed);
        if (word == 0) {
            uint64_t bits = atomic_load_explicit(&hs_sample_quick[quick / 64], memory_order_relaxed);
            atomic_store_explicit(&hs_sample_quick[quick / 64], bits & ~((uint64_t)1 << (quick % 64)), memory_order_relaxed);
        }
    }
    unlock_filter();
}

/* The allocation that handed the address to the program happened before its free (the program's own
 * synchronisation orders them), so its increments are visible here. */
bool hs_sample_maybe_live_wide(uint64_t hash) {
    size_t slot = filter_slot(hash);
    return ((atomic_load_explicit(&filter[slot / 8], memory_order_relaxed) >> ((slot % 8) * 4)) & 0xF) != 0;
}

void hs_sample_after_fork_child(void) {
    hs_sampler.left = 0;
    hs_sampler.rng = 0; /* a fresh stream: the child must not repeat the parent's sample points */
    atomic_flag_clear(&filter_lock); /* free anyway (see filter_lock); the child starts clean */
}
