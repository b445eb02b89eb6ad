/* Taking a snapshot: copy the counters (and, with HEAPSNAP_TRACES, the live blocks) while every shard
 * is locked, which takes a few milliseconds even for a million blocks, then write the file outside the
 * locks with big write() calls into a temporary name and rename it into place. */
#include "internal.h"
#include "unwind.h"
#include "peak.h"
#include "sample.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "heapsnap.h"
#include "heapsnap_crc32.h"
#include "python.h"

#define EXPORT __attribute__((visibility("default")))

pthread_mutex_t hs_snapshot_lock = PTHREAD_MUTEX_INITIALIZER;
_Atomic uint32_t hs_sequence;
_Atomic uint64_t hs_last_peak_snapshot;
static bool peak_file_is_ours; /* the rolling peak file may replace only its own earlier version */
static bool finished;          /* the exit snapshot has been taken */
static bool peak_failure_reported;

/* ---------------------------------------------------------------- buffered writer */

static void write_all(struct hs_writer *w, const unsigned char *p, size_t n) {
    while (n && !w->error) {
        ssize_t k = write(w->fd, p, n);
        if (k < 0) {
            if (errno == EINTR) continue;
            w->error = errno;
            return;
        }
        p += k;
        n -= (size_t)k;
    }
}

static void flush(struct hs_writer *w) {
    write_all(w, w->buffer, w->used);
    w->used = 0;
}

void hs_put(struct hs_writer *w, const void *data, size_t size) {
    const unsigned char *p = data;
    w->crc = heapsnap_crc32_update(w->crc, p, size);
    if (w->used + size > w->capacity) {
        flush(w);
        if (size > w->capacity / 2) {
            write_all(w, p, size);
            return;
        }
    }
    memcpy(w->buffer + w->used, p, size);
    w->used += size;
}

void hs_put_u16(struct hs_writer *w, uint16_t v) {
    unsigned char b[2] = {(unsigned char)v, (unsigned char)(v >> 8)};
    hs_put(w, b, 2);
}

void hs_put_u32(struct hs_writer *w, uint32_t v) {
    unsigned char b[4];
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i));
    hs_put(w, b, 4);
}

void hs_put_u64(struct hs_writer *w, uint64_t v) {
    unsigned char b[8];
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
    hs_put(w, b, 8);
}

void hs_put_str(struct hs_writer *w, const char *s, size_t len) {
    hs_put_u32(w, (uint32_t)len);
    hs_put(w, s, len);
}

static void put_section(struct hs_writer *w, uint32_t tag, uint64_t length) {
    hs_put_u32(w, tag);
    hs_put_u32(w, 0);
    hs_put_u64(w, length);
}

/* ---------------------------------------------------------------- the state copied under the locks */

struct trace {
    uint64_t address, size;
    uint32_t stack;
};

struct capture {
    bool at_peak;       /* the figures are those of the high-water mark, reached at time_ns */
    uint64_t time_ns;
    uint64_t current_bytes, peak_bytes, live_blocks, total_allocs, total_bytes, untracked_frees;
    uint64_t recorded_blocks, recorded_allocs; /* sampled mode: blocks in the table, allocations recorded */
    uint32_t stack_count;
    struct hs_counts *counts;
    size_t counts_bytes;
    uint64_t trace_count;
    struct trace *traces;
    size_t traces_bytes;
};

/* The time and peak generation of the latest snapshot of the present; under the shard locks. */
static uint64_t last_present_ns, last_present_generation;
/* The time of the latest snapshot of the present taken before the generation `last_present_generation` began. */
static uint64_t before_generation_ns;

static void add_trace(const struct hs_live_entry *e, void *context) {
    struct capture *c = context;
    c->traces[c->trace_count++] = (struct trace){e->address, e->size, e->stack};
}

/* `at_peak`: the state at the high-water mark instead of the present (no live blocks then: which
 * blocks were live at the peak is not kept, only how much per stack). */
static int capture_state(struct capture *c, bool with_traces, bool at_peak) {
    memset(c, 0, sizeof *c);
    c->at_peak = at_peak;
    if (at_peak) with_traces = false;
    pthread_mutex_lock(&hs_stacks_append_lock);
    hs_lock_all_shards();
    c->time_ns = at_peak ? atomic_load_explicit(&hs_peak_time_ns, memory_order_relaxed) : 0;
    /* the coarse clock of the peak may lag the start's fine one by a tick */
    if (c->time_ns < hs_start_ns) c->time_ns = at_peak ? hs_start_ns : hs_realtime_ns();
    /* A peak file must not sort before a snapshot of the present taken before the peak was reached,
     * although its coarse clock may lag that snapshot's fine one by a tick. */
    uint64_t generation = atomic_load_explicit(&hs_peak_generation, memory_order_relaxed);
    if (!at_peak) {
        if (generation != last_present_generation) before_generation_ns = last_present_ns;
        last_present_ns = c->time_ns;
        last_present_generation = generation;
    } else {
        uint64_t floor = generation == last_present_generation ? before_generation_ns : last_present_ns;
        if (c->time_ns <= floor) c->time_ns = floor + 1;
    }
    c->stack_count = hs_stack_count();
    c->live_blocks = hs_live_count();
    for (int i = 0; i < HS_SHARDS; i++) {
        c->total_allocs += hs_shards[i].total_allocs;
        c->total_bytes += hs_shards[i].total_bytes;
        c->untracked_frees += hs_shards[i].untracked_frees;
    }
    c->current_bytes = atomic_load_explicit(&hs_current_bytes, memory_order_relaxed);
    c->peak_bytes = atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed);
    uint64_t table_blocks = c->live_blocks;
    int rc = 0;
    c->counts_bytes = (size_t)c->stack_count * sizeof(struct hs_counts);
    if (c->stack_count && !(c->counts = hs_map(c->counts_bytes))) {
        rc = -1;
        goto out;
    }
    for (uint32_t id = 0; id < c->stack_count; id++) {
        struct hs_stack *s = hs_stack_at(id);
        c->counts[id] = at_peak ? hs_counts_at_peak(s) : s->now;
    }
    if (hs_sampling()) {
        /* estimates: block counts from fixed point, rounded per stack; the header sums what the
         * stacks say, so that its figures and theirs agree */
        c->recorded_blocks = c->live_blocks;
        c->recorded_allocs = c->total_allocs;
        for (uint32_t id = 0; id < c->stack_count; id++) {
            c->counts[id].live_blocks = (c->counts[id].live_blocks + HS_SAMPLE_UNIT / 2) / HS_SAMPLE_UNIT;
            c->counts[id].total_allocs = (c->counts[id].total_allocs + HS_SAMPLE_UNIT / 2) / HS_SAMPLE_UNIT;
        }
    }
    if (at_peak || hs_sampling()) {
        if (at_peak) c->current_bytes = c->peak_bytes;
        c->live_blocks = c->total_allocs = c->total_bytes = 0;
        for (uint32_t id = 0; id < c->stack_count; id++) {
            c->live_blocks += c->counts[id].live_blocks;
            c->total_allocs += c->counts[id].total_allocs;
            c->total_bytes += c->counts[id].total_bytes;
        }
    }
    if (with_traces && table_blocks) {
        c->traces_bytes = (size_t)table_blocks * sizeof(struct trace);
        if (!(c->traces = hs_map(c->traces_bytes))) {
            rc = -1;
            goto out;
        }
    }
    /* the live blocks, when asked (the per-stack figures are kept as the blocks come and go) */
    if (c->traces) hs_live_each(add_trace, c);
out:
    hs_unlock_all_shards();
    pthread_mutex_unlock(&hs_stacks_append_lock);
    if (rc != 0) errno = ENOMEM;
    return rc;
}

static void release_capture(struct capture *c) {
    hs_unmap(c->counts, c->counts_bytes);
    hs_unmap(c->traces, c->traces_bytes);
}

/* ---------------------------------------------------------------- the file */

/* Mapped at the first snapshot and kept, so that a later snapshot (at exit, under memory pressure)
 * does not depend on a new mapping. 128 KiB: the tracker keeps it for the life of the process, and
 * larger buffers save only write calls (a million-block snapshot is ~240 of them). */
static unsigned char *write_buffer;
#define WRITE_BUFFER_SIZE ((size_t)1 << 17)

/* argv from /proc/self/cmdline, NUL-separated */
static char *cmdline;
static size_t cmdline_length, cmdline_capacity;

static void read_cmdline(void) {
    cmdline_length = 0;
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    for (;;) {
        if (cmdline_length == cmdline_capacity) {
            size_t capacity = cmdline_capacity ? cmdline_capacity * 2 : 65536;
            char *grown = hs_map(capacity);
            if (!grown) break;
            if (cmdline) memcpy(grown, cmdline, cmdline_length);
            hs_unmap(cmdline, cmdline_capacity);
            cmdline = grown;
            cmdline_capacity = capacity;
        }
        ssize_t k = read(fd, cmdline + cmdline_length, cmdline_capacity - cmdline_length);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        cmdline_length += (size_t)k;
    }
    close(fd);
}

static void write_snapshot(struct hs_writer *w, struct capture *c, enum hs_trigger trigger, uint32_t sequence) {
    hs_put(w, HEAPSNAP_MAGIC, HEAPSNAP_MAGIC_LENGTH);
    hs_put_u32(w, HEAPSNAP_FORMAT_VERSION);
    hs_put_u32(w, 0);

    uint32_t argc = 0;
    uint64_t argv_bytes = 0;
    for (size_t start = 0; start < cmdline_length; argc++) {
        size_t end = start;
        while (end < cmdline_length && cmdline[end]) end++;
        argv_bytes += 4 + (end - start);
        start = end + 1;
    }
    size_t exe_length = strlen(hs_exe_path);
    uint64_t header_length = 4 + 4 + 8 + 8 + 4 + 4 + 4 + 4 + 8 * 7 + 4 + exe_length + 4 + argv_bytes;
    put_section(w, HEAPSNAP_SECTION_HEADER, header_length);
    hs_put_u32(w, (uint32_t)hs_pid);
    hs_put_u32(w, (uint32_t)getppid());
    hs_put_u64(w, c->time_ns);
    hs_put_u64(w, hs_start_ns);
    hs_put_u32(w, sequence);
    hs_put_u32(w, trigger);
    hs_put_u32(w, (uint32_t)hs_config.max_frames);
    hs_put_u32(w, c->traces ? HEAPSNAP_HEADER_HAS_TRACES : 0);
    hs_put_u64(w, c->current_bytes);
    hs_put_u64(w, c->peak_bytes);
    hs_put_u64(w, c->live_blocks);
    hs_put_u64(w, c->total_allocs);
    hs_put_u64(w, c->total_bytes);
    hs_put_u64(w, atomic_load_explicit(&hs_tracker_bytes, memory_order_relaxed));
    hs_put_u64(w, c->untracked_frees);
    hs_put_str(w, hs_exe_path, exe_length);
    hs_put_u32(w, argc);
    for (size_t start = 0; start < cmdline_length;) {
        size_t end = start;
        while (end < cmdline_length && cmdline[end]) end++;
        hs_put_str(w, cmdline + start, end - start);
        start = end + 1;
    }

    put_section(w, HEAPSNAP_SECTION_MODULES, hs_modules_payload_size());
    hs_modules_write(w);

    uint64_t stacks_length = 4;
    for (uint32_t id = 0; id < c->stack_count; id++)
        stacks_length += HEAPSNAP_STACK_RECORD_SIZE + 8ull * hs_stack_at(id)->depth;
    put_section(w, HEAPSNAP_SECTION_STACKS, stacks_length);
    hs_put_u32(w, c->stack_count);
    for (uint32_t id = 0; id < c->stack_count; id++) {
        struct hs_stack *s = hs_stack_at(id);
        hs_put_u32(w, s->domain);
        hs_put_u16(w, s->depth);
        hs_put_u16(w, s->flags);
        hs_put_u64(w, c->counts[id].live_bytes);
        hs_put_u64(w, c->counts[id].live_blocks);
        hs_put_u64(w, c->counts[id].total_allocs);
        hs_put_u64(w, c->counts[id].total_bytes);
        /* a running count (churn.c), read as written: it changes without the table locks anyway */
        hs_put_u64(w, atomic_load_explicit(&s->temporary_allocs, memory_order_relaxed));
        /* the frames come back from the prefix tree (tables.c), as captured */
        static uintptr_t frames[HEAPSNAP_FRAMES_LIMIT + 24 + HEAPSNAP_PYTHON_MAX_FRAMES];
        hs_stack_frames(s, frames);
        if (sizeof(uintptr_t) == 8 && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__) {
            hs_put(w, frames, 8ull * s->depth);
        } else {
            for (int i = 0; i < s->depth; i++) hs_put_u64(w, frames[i]);
        }
    }

    if (c->traces) {
        put_section(w, HEAPSNAP_SECTION_TRACES, 8 + 24 * c->trace_count);
        hs_put_u64(w, c->trace_count);
        for (uint64_t i = 0; i < c->trace_count; i++) {
            unsigned char record[24];
            uint64_t a = c->traces[i].address, s = c->traces[i].size;
            uint32_t st = c->traces[i].stack;
            for (int b = 0; b < 8; b++) record[b] = (unsigned char)(a >> (8 * b));
            for (int b = 0; b < 8; b++) record[8 + b] = (unsigned char)(s >> (8 * b));
            for (int b = 0; b < 4; b++) record[16 + b] = (unsigned char)(st >> (8 * b));
            memset(record + 20, 0, 4);
            hs_put(w, record, 24);
        }
    }

    hs_python_write_section(w, HEAPSNAP_SECTION_PYTHON);

    if (hs_sampling()) {
        put_section(w, HEAPSNAP_SECTION_SAMPLING, 8 * 4);
        hs_put_u64(w, hs_config.sample_rate);
        hs_put_u64(w, hs_config.sample_seed);
        hs_put_u64(w, c->recorded_blocks);
        hs_put_u64(w, c->recorded_allocs);
    }

    hs_unwind_write_section(w); /* UNWIND: unwind.c */

    uint32_t crc = w->crc ^ 0xFFFFFFFFu;
    put_section(w, HEAPSNAP_SECTION_END, 4);
    hs_put_u32(w, crc);
    flush(w);
}

static size_t append(char *out, size_t at, const char *s) {
    size_t n = strlen(s);
    if (at + n >= HS_PATH_MAX) n = at < HS_PATH_MAX - 1 ? HS_PATH_MAX - 1 - at : 0;
    memcpy(out + at, s, n);
    out[at + n] = '\0';
    return at + n;
}

static size_t append_number(char *out, size_t at, uint64_t v, int min_digits) {
    char text[24];
    hs_decimal(text, v, min_digits);
    return append(out, at, text);
}

static void default_name(char *out, const char *what, uint32_t sequence) {
    size_t at = 0;
    out[0] = '\0';
    if (hs_config.dir[0]) {
        at = append(out, at, hs_config.dir);
        if (out[at - 1] != '/') at = append(out, at, "/");
    }
    at = append(out, at, hs_program);
    at = append(out, at, ".");
    at = append_number(out, at, (uint64_t)hs_pid, 1);
    at = append(out, at, ".");
    at = what ? append(out, at, what) : append_number(out, at, sequence, HEAPSNAP_FILE_SEQUENCE_DIGITS);
    append(out, at, HEAPSNAP_FILE_SUFFIX);
}

/* Writes `path` through `<path>.tmp.<pid>`. Without `replace`, an existing `path` is never touched. */
static char last_path[HS_PATH_MAX]; /* for the error message */
static uint64_t last_size;          /* bytes of the file last written */
static uint64_t peak_file_size;     /* the rolling peak file's, counted once in the budget */

/* Out of the low numbers a program expects open() to return (it may have closed stdin), for the
 * moment the file is open. The tracker thread's own file table needs no such care. */
static int out_of_the_way(int fd) {
    int high = fcntl(fd, F_DUPFD_CLOEXEC, HS_HIGH_FD);
    if (high < 0) return fd;
    close(fd);
    return high;
}

static int write_file(const char *path, bool replace, struct capture *c, enum hs_trigger trigger, uint32_t sequence) {
    append(last_path, 0, path);
    static char temporary[HS_PATH_MAX]; /* static, like every buffer here: snapshots run under
                                         * hs_snapshot_lock, sometimes on a user thread's small stack */
    size_t at = append(temporary, 0, path);
    at = append(temporary, at, ".tmp.");
    append_number(temporary, at, (uint64_t)hs_pid, 1);
    if (strlen(path) + 32 >= HS_PATH_MAX) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    fd = out_of_the_way(fd);
    fchmod(fd, 0600); /* exactly 0600 whatever the umask: the owner must be able to read it back */
    if (!write_buffer && !(write_buffer = hs_map(WRITE_BUFFER_SIZE))) {
        close(fd);
        unlink(temporary);
        errno = ENOMEM;
        return -1;
    }
    struct hs_writer w = {fd, 0, 0xFFFFFFFFu, write_buffer, 0, WRITE_BUFFER_SIZE};
    write_snapshot(&w, c, trigger, sequence);
    struct stat written;
    last_size = fstat(fd, &written) == 0 ? (uint64_t)written.st_size : 0;
    if (close(fd) != 0 && !w.error) w.error = errno;
    if (w.error) {
        unlink(temporary);
        errno = w.error;
        return -1;
    }
    int rc;
    if (replace) {
        rc = rename(temporary, path);
    } else {
        rc = renameat2(AT_FDCWD, temporary, AT_FDCWD, path, RENAME_NOREPLACE);
        if (rc != 0 && (errno == EINVAL || errno == ENOSYS)) {
            /* file systems without RENAME_NOREPLACE: link() never replaces either */
            rc = link(temporary, path);
            if (rc == 0) unlink(temporary);
        }
    }
    if (rc != 0) {
        int err = errno;
        unlink(temporary);
        errno = err;
        return -1;
    }
    return 0;
}

static bool exists(const char *path) {
    struct stat st;
    return fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

static int write_default(struct capture *c, enum hs_trigger trigger) {
    static char path[HS_PATH_MAX];
    for (int attempt = 0; attempt < 10000; attempt++) {
        uint32_t sequence = atomic_fetch_add(&hs_sequence, 1) + 1;
        default_name(path, NULL, sequence);
        if (exists(path)) continue; /* e.g. left by an earlier image of this pid before exec */
        if (write_file(path, false, c, trigger, sequence) == 0) return 0;
        if (errno != EEXIST) return -1;
    }
    errno = EEXIST;
    return -1;
}

/* The state at the high-water mark, into `path` or the process's peak file (which it may replace only
 * if this process wrote it; the budget counts the rolling file once). */
static int write_peak(const char *path) {
    struct capture c;
    int rc = capture_state(&c, false, true);
    if (rc == 0) {
        if (path) {
            rc = write_file(path, false, &c, HS_PEAK, 0);
            if (rc == 0) hs_budget_add(last_size);
        } else {
            static char peak_path[HS_PATH_MAX];
            default_name(peak_path, HEAPSNAP_FILE_PEAK_NAME, 0);
            rc = write_file(peak_path, peak_file_is_ours, &c, HS_PEAK, 0);
            if (rc == 0) {
                peak_file_is_ours = true;
                hs_budget_add(last_size > peak_file_size ? last_size - peak_file_size : 0);
                peak_file_size = last_size;
            }
        }
    }
    int err = errno;
    release_capture(&c);
    errno = err;
    return rc;
}

static int take_snapshot(enum hs_trigger trigger, const char *path, bool try_only, char *written, size_t written_size);

/* HS_PEAK with `try_only` is the --peak-step check (from an allocation); HS_PEAK without it is an
 * explicit request (heapsnap_snapshot_peak). Every exit snapshot that is written (hs_exit_snapshot_wanted)
 * is followed by the peak file. */
int hs_take_snapshot(enum hs_trigger trigger, const char *path, bool try_only) {
    return take_snapshot(trigger, path, try_only, NULL, 0);
}

int hs_take_snapshot_reporting(enum hs_trigger trigger, char *written, size_t size) {
    return take_snapshot(trigger, NULL, false, written, size);
}

static int take_snapshot(enum hs_trigger trigger, const char *path, bool try_only, char *written, size_t written_size) {
    if (written && written_size) written[0] = '\0';
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    int saved_errno = errno;
    if (atomic_load_explicit(&hs_state, memory_order_acquire) == 0) hs_early_init();
    if (atomic_load_explicit(&hs_state, memory_order_acquire) == 3) {
        hs_in_tracker = guard;
        errno = ENOTSUP; /* dormant: HEAPSNAP_ONLY does not list this program */
        return -1;
    }
    if (try_only) {
        if (pthread_mutex_trylock(&hs_snapshot_lock) != 0) {
            hs_in_tracker = guard;
            errno = EBUSY;
            return -1;
        }
    } else {
        pthread_mutex_lock(&hs_snapshot_lock);
    }
    int rc = 0, err = 0;
    /* the program's own requests, heard even after the exit snapshot and never warned about */
    bool program_request = trigger == HS_API || (trigger == HS_PEAK && !try_only);
    /* After the exit snapshot only the program itself may ask for more: a signal, interval or peak
     * snapshot started now could be cut off by _exit and leave its temporary file behind. */
    if (finished && !program_request) {
        if (trigger == HS_CONTROL) {
            rc = -1;
            err = ESHUTDOWN; /* heapsnap snap is told, not left waiting */
        }
        goto done;
    }
    if (trigger == HS_EXIT) {
        finished = true;
        if (!hs_exit_snapshot_wanted()) goto done; /* a small child, no exit snapshot nor peak file: output_budget.c */
    }
    if (trigger == HS_PEAK && try_only) {
        uint64_t peak = atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed);
        if (peak < atomic_load_explicit(&hs_last_peak_snapshot, memory_order_relaxed) + hs_config.peak_step) goto done;
        atomic_store_explicit(&hs_last_peak_snapshot, peak, memory_order_relaxed);
    }
    if (!path && !hs_snapshot_folder_ready()) { /* said once; an explicit path is the program's own */
        rc = -1;
        err = errno;
        goto done;
    }
    if (!hs_budget_allows()) {
        rc = -1;
        err = errno;
        goto done;
    }
    hs_python_refresh();
    hs_modules_refresh();
    read_cmdline();
    if (trigger == HS_PEAK) {
        rc = write_peak(path);
        err = errno;
    } else {
        struct capture c;
        if (capture_state(&c, hs_config.traces, false) != 0) {
            rc = -1;
            err = errno;
        } else {
            rc = path ? write_file(path, false, &c, trigger, atomic_fetch_add(&hs_sequence, 1) + 1) : write_default(&c, trigger);
            err = errno;
            if (rc == 0) hs_budget_add(last_size);
        }
        release_capture(&c);
    }
    if (written && written_size) {
        size_t n = strlen(last_path);
        if (n >= written_size) n = written_size - 1;
        memcpy(written, last_path, n);
        written[n] = '\0';
    }
    if (rc != 0 && !program_request && err != EDQUOT) { /* a spent budget was told once */
        if (trigger != HS_PEAK || !peak_failure_reported) hs_warn("cannot write a snapshot", last_path, err);
        if (trigger == HS_PEAK) peak_failure_reported = true;
    }
    /* one warning per problem: a folder that took no exit snapshot takes no peak file either */
    if (trigger == HS_EXIT && rc == 0 && hs_budget_allows()) {
        if (write_peak(NULL) != 0 && errno != EEXIST && errno != EDQUOT && !peak_failure_reported)
            hs_warn("cannot write the peak snapshot", last_path, errno);
    }
done:
    pthread_mutex_unlock(&hs_snapshot_lock);
    hs_in_tracker = guard;
    errno = rc == 0 ? saved_errno : err;
    return rc;
}

void hs_check_peak(void) {
    uint64_t step = hs_config.peak_step;
    if (!step) return;
    uint64_t peak = atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed);
    if (peak < atomic_load_explicit(&hs_last_peak_snapshot, memory_order_relaxed) + step) return;
    hs_take_snapshot(HS_PEAK, NULL, true);
}

void hs_snapshot_after_fork_child(void) {
    pthread_mutex_init(&hs_snapshot_lock, NULL);
    atomic_store(&hs_sequence, 0);
    atomic_store(&hs_last_peak_snapshot, atomic_load(&hs_current_bytes));
    peak_file_is_ours = false;
    peak_file_size = 0;
    peak_failure_reported = false;
    finished = false;
}

EXPORT int heapsnap_snapshot(const char *path) { return hs_take_snapshot(HS_API, path, false); }

EXPORT int heapsnap_snapshot_peak(const char *path) { return hs_take_snapshot(HS_PEAK, path, false); }
