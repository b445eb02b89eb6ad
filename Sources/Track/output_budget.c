/* Bounded output: which exit snapshots are worth writing, and the whole run's disk budget.
 *
 * Child processes stay tracked, but a shell loop or a process pool must not leave thousands of files.
 * A process writes its exit snapshot when its traced peak reached HEAPSNAP_MIN_PEAK (default 4 MiB),
 * or it is the program the user started (its parent is not traced: `heapsnap run`'s child, or the
 * first process under LD_PRELOAD), or HEAPSNAP_ONLY names it. Snapshots that were asked for (API,
 * signal, heapsnap snap, interval, peak) are always written.
 *
 * HEAPSNAP_MAX_DISK (default 1 GiB) bounds the bytes of all snapshot files of one run, counted in
 * a ledger <dir>/.heapsnap-budget.<process group> that every process of the run shares under flock;
 * past it no more files are written and the first process to find that says so, once. */
#include "internal.h"

#include "heapsnap_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

pid_t hs_parent_pid;

/* ---------------------------------------------------------------- is the exit snapshot worth it */

/* Whether `pid` has libheapsnap.so mapped (it is traced, or left dormant by HEAPSNAP_ONLY). */
static bool traced(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    static const char needle[] = "/libheapsnap.so";
    const size_t length = sizeof needle - 1;
    char buffer[8192 + sizeof needle];
    size_t kept = 0;
    bool found = false;
    for (;;) {
        ssize_t n = read(fd, buffer + kept, sizeof buffer - kept - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        size_t used = kept + (size_t)n;
        buffer[used] = '\0';
        if (memmem(buffer, used, needle, length)) {
            found = true;
            break;
        }
        /* keep the tail: the name may straddle two reads */
        kept = used < length ? used : length;
        memmove(buffer, buffer + used - kept, kept);
    }
    close(fd);
    return found;
}

bool hs_exit_snapshot_wanted(void) {
    if (hs_config.min_peak == 0) return true;
    if (atomic_load_explicit(&hs_peak_bytes, memory_order_relaxed) >= hs_config.min_peak) return true;
    if (hs_config.named_by_only) return true;
    /* reparented: the parent ended first (a helper outliving its program), so not the program */
    if (getppid() != hs_parent_pid) return false;
    return !traced(hs_parent_pid);
}

/* ---------------------------------------------------------------- the run's disk budget */

struct ledger {
    uint64_t bytes; /* written by the run so far */
    uint64_t told;  /* 1 once a process has said the budget is spent */
};

static bool budget_spent_here; /* this process found it spent (and stops asking) */

static int open_ledger(void) {
    char path[HS_PATH_MAX];
    const char *dir = hs_config.dir[0] ? hs_config.dir : ".";
    int n = snprintf(path, sizeof path, "%s/" HEAPSNAP_BUDGET_LEDGER_PREFIX "%d", dir, (int)getpgrp());
    if (n < 0 || (size_t)n >= sizeof path) return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, HS_HIGH_FD); /* out of the numbers the program expects */
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    if (flock(fd, LOCK_EX) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static struct ledger read_ledger(int fd) {
    struct ledger l = {0, 0};
    if (pread(fd, &l, sizeof l, 0) != (ssize_t)sizeof l) l = (struct ledger){0, 0};
    return l;
}

/* Before writing a file: false once the run's budget is spent (errno EDQUOT). */
bool hs_budget_allows(void) {
    if (!hs_config.max_disk) return true;
    if (budget_spent_here) {
        errno = EDQUOT;
        return false;
    }
    int fd = open_ledger();
    if (fd < 0) return true; /* no ledger (read-only folder): the write itself will tell */
    struct ledger l = read_ledger(fd);
    bool allowed = l.bytes < hs_config.max_disk;
    if (!allowed) {
        budget_spent_here = true;
        if (!l.told) {
            char line[HS_PATH_MAX + 200];
            int n = snprintf(line, sizeof line,
                             "heapsnap: the snapshots of this run reached HEAPSNAP_MAX_DISK (%llu bytes) in %s; no more "
                             "are written (HEAPSNAP_MAX_DISK=0: no limit)\n",
                             (unsigned long long)hs_config.max_disk, hs_config.dir[0] ? hs_config.dir : ".");
            /* told only once it reached a stderr: a tool that closed its own at exit leaves it to the next */
            if (n > 0 && write(2, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1) > 0) {
                l.told = 1;
                if (pwrite(fd, &l, sizeof l, 0) != (ssize_t)sizeof l) { /* told at worst twice */
                }
            }
        }
    }
    close(fd);
    if (!allowed) errno = EDQUOT;
    return allowed;
}

/* After writing a file of `bytes` (or growing a rewritten one by that much). */
void hs_budget_add(uint64_t bytes) {
    if (!hs_config.max_disk || !bytes) return;
    int fd = open_ledger();
    if (fd < 0) return;
    struct ledger l = read_ledger(fd);
    l.bytes += bytes;
    if (pwrite(fd, &l, sizeof l, 0) != (ssize_t)sizeof l) { /* best effort */
    }
    close(fd);
}

/* ---------------------------------------------------------------- the snapshot folder */

/* A HEAPSNAP_DIR that does not exist yet is created, as `heapsnap run --dir` does (like mkdir -p, mode
 * 0777 less the umask): the user asked for that folder, and without it every snapshot would be lost.
 * Runs under hs_snapshot_lock, before a default-named file is written; when the folder cannot be made,
 * one warning line for the whole run (forked children inherit that it was said). */
static bool folder_failure_reported;

bool hs_snapshot_folder_ready(void) {
    static char partial[HS_PATH_MAX];
    struct stat st;
    if (!hs_config.dir[0] || stat(hs_config.dir, &st) == 0) return true; /* not a folder: the write tells */
    int err = errno;
    if (err == ENOENT) {
        size_t n = strlen(hs_config.dir);
        memcpy(partial, hs_config.dir, n + 1);
        for (size_t i = 1; i <= n && err == ENOENT; i++) {
            if (partial[i] != '/' && partial[i] != '\0') continue;
            char kept = partial[i];
            partial[i] = '\0';
            if (mkdir(partial, 0777) != 0 && errno != EEXIST) err = errno;
            partial[i] = kept;
        }
        if (err == ENOENT && stat(hs_config.dir, &st) == 0) return true;
        if (err == ENOENT) err = errno;
    }
    if (!folder_failure_reported) {
        folder_failure_reported = true;
        const char *parts[] = {"cannot create " HEAPSNAP_ENV_DIR " ", hs_config.dir, ", so no snapshot is written"};
        hs_warn_parts(parts, sizeof parts / sizeof parts[0], err);
    }
    errno = err;
    return false;
}

void hs_budget_after_fork_child(void) {
    hs_parent_pid = getppid();
    /* the child shares the run's ledger; whether it is spent is read again */
    budget_spent_here = false;
}
