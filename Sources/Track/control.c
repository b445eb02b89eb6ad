/* Start-up, configuration, the tracker thread (signal and interval snapshots), exit and fork. */
#include "internal.h"
#include "python.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct hs_config hs_config = {.max_frames = 64, .signal = SIGUSR2};
_Atomic int hs_state;
pid_t hs_pid;
uint64_t hs_start_ns;
char hs_program[256] = "unknown";
_Atomic int hs_thread_wanted;

extern char **__environ;

uint64_t hs_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t hs_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void put_err(const char *s) {
    size_t n = strlen(s);
    while (n) {
        ssize_t k = write(2, s, n);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return;
        s += k;
        n -= (size_t)k;
    }
}

void hs_warn(const char *what, const char *detail, int err) {
    int saved = errno;
    put_err("heapsnap: ");
    put_err(what);
    if (detail) {
        put_err(": ");
        put_err(detail);
    }
    if (err) {
        put_err(": ");
        put_err(strerror(err));
    }
    put_err("\n");
    errno = saved;
}

/* ---------------------------------------------------------------- configuration, no allocation */

static bool parse_unsigned(const char *s, uint64_t *out, const char **rest) {
    if (*s < '0' || *s > '9') return false;
    uint64_t v = 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (v > (UINT64_MAX - 9) / 10) return false;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    *rest = s;
    return true;
}

static bool equal_ignoring_case(const char *a, const char *b) {
    for (; *a && *b; a++, b++) {
        char x = *a >= 'a' && *a <= 'z' ? *a - 32 : *a;
        if (x != *b) return false;
    }
    return *a == *b;
}

static int parse_signal(const char *s) {
    static const struct {
        const char *name;
        int number;
    } names[] = {
        {"HUP", SIGHUP},   {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2},
        {"PIPE", SIGPIPE}, {"ALRM", SIGALRM},   {"TERM", SIGTERM}, {"CHLD", SIGCHLD}, {"CONT", SIGCONT},
        {"TSTP", SIGTSTP}, {"TTIN", SIGTTIN},   {"TTOU", SIGTTOU}, {"URG", SIGURG},   {"XCPU", SIGXCPU},
        {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF}, {"WINCH", SIGWINCH}, {"IO", SIGIO},
        {"PWR", SIGPWR},   {"SYS", SIGSYS},
    };
    if (equal_ignoring_case(s, "NONE") || equal_ignoring_case(s, "OFF")) return 0;
    uint64_t v;
    const char *rest;
    if (parse_unsigned(s, &v, &rest)) {
        if (*rest || v >= (uint64_t)NSIG || v == SIGKILL || v == SIGSTOP) return -1;
        return (int)v;
    }
    if ((s[0] == 'S' || s[0] == 's') && (s[1] == 'I' || s[1] == 'i') && (s[2] == 'G' || s[2] == 'g')) s += 3;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (equal_ignoring_case(s, names[i].name)) return names[i].number;
    if ((s[0] == 'R' || s[0] == 'r') && equal_ignoring_case(s, "RTMIN")) return SIGRTMIN;
    if (s[0] && strlen(s) > 6) {
        char prefix[7];
        memcpy(prefix, s, 6);
        prefix[6] = '\0';
        if (equal_ignoring_case(prefix, "RTMIN+") && parse_unsigned(s + 6, &v, &rest) && !*rest &&
            (int)v <= SIGRTMAX - SIGRTMIN)
            return SIGRTMIN + (int)v;
    }
    return -1;
}

/* seconds with an optional fraction: "2", "0.25" */
static bool parse_seconds(const char *s, uint64_t *ns) {
    uint64_t whole = 0;
    const char *rest = s;
    if (*s != '.' && !parse_unsigned(s, &whole, &rest)) return false;
    if (whole > 1000000000ull) return false;
    uint64_t fraction = 0, scale = 1000000000ull;
    if (*rest == '.') {
        rest++;
        if (*rest < '0' || *rest > '9') return false;
        for (; *rest >= '0' && *rest <= '9'; rest++) {
            scale /= 10;
            fraction += (uint64_t)(*rest - '0') * scale;
        }
    }
    if (*rest) return false;
    *ns = whole * 1000000000ull + fraction;
    return true;
}

/* bytes with an optional K, M or G (binary) suffix, optionally followed by B or iB */
static bool parse_bytes(const char *s, uint64_t *out) {
    uint64_t v;
    const char *rest;
    if (!parse_unsigned(s, &v, &rest)) return false;
    uint64_t unit = 1;
    switch (*rest) {
    case 'k': case 'K': unit = 1ull << 10; rest++; break;
    case 'm': case 'M': unit = 1ull << 20; rest++; break;
    case 'g': case 'G': unit = 1ull << 30; rest++; break;
    default: break;
    }
    if (unit > 1 && (*rest == 'i' || *rest == 'I')) rest++;
    if (*rest == 'b' || *rest == 'B') rest++;
    if (*rest || v > UINT64_MAX / unit) return false;
    *out = v * unit;
    return true;
}

static void parse_config(bool report) {
    const char *v;
    if ((v = getenv("HEAPSNAP_FRAMES")) && *v) {
        uint64_t n;
        const char *rest;
        if (parse_unsigned(v, &n, &rest) && !*rest && n >= 1) {
            hs_config.max_frames = n > HS_MAX_FRAMES_LIMIT ? HS_MAX_FRAMES_LIMIT : (int)n;
        } else if (report) {
            hs_warn("HEAPSNAP_FRAMES must be a number from 1 to 256, using 64", v, 0);
        }
    }
    if ((v = getenv("HEAPSNAP_SIGNAL")) && *v) {
        int sig = parse_signal(v);
        if (sig >= 0) hs_config.signal = sig;
        else if (report) hs_warn("HEAPSNAP_SIGNAL is not a signal (try USR2, SIGUSR1, 12 or none); using SIGUSR2", v, 0);
    }
    if ((v = getenv("HEAPSNAP_INTERVAL")) && *v) {
        uint64_t ns;
        if (parse_seconds(v, &ns)) hs_config.interval_ns = ns;
        else if (report) hs_warn("HEAPSNAP_INTERVAL must be seconds like 5 or 0.5; interval snapshots are off", v, 0);
    }
    if ((v = getenv("HEAPSNAP_PEAK_STEP")) && *v) {
        uint64_t bytes;
        if (parse_bytes(v, &bytes)) hs_config.peak_step = bytes;
        else if (report) hs_warn("HEAPSNAP_PEAK_STEP must be bytes like 1048576, 512K, 64M or 1G; peak snapshots are off", v, 0);
    }
    if ((v = getenv("HEAPSNAP_TRACES"))) hs_config.traces = v[0] == '1' || equal_ignoring_case(v, "YES") || equal_ignoring_case(v, "TRUE");
    if ((v = getenv("HEAPSNAP_DIR")) && *v) {
        size_t n = strlen(v);
        if (n < sizeof hs_config.dir - 64) memcpy(hs_config.dir, v, n + 1);
        else if (report) hs_warn("HEAPSNAP_DIR is too long; using the working directory", NULL, 0);
    }
}

/* Snapshots go where the program started, even if it changes directory later (daemons chdir to /). */
static void anchor_directory(void) {
    if (hs_config.dir[0] == '/') return;
    char absolute[sizeof hs_config.dir];
    if (!getcwd(absolute, sizeof absolute - 64)) return;
    size_t at = strlen(absolute), n = strlen(hs_config.dir);
    if (n) {
        if (at + 1 + n >= sizeof absolute) return;
        absolute[at++] = '/';
        memcpy(absolute + at, hs_config.dir, n + 1);
    }
    memcpy(hs_config.dir, absolute, strlen(absolute) + 1);
}

static void read_identity(void) {
    hs_pid = getpid();
    hs_start_ns = hs_realtime_ns();
    ssize_t n = readlink("/proc/self/exe", hs_exe_path, sizeof hs_exe_path - 1);
    hs_exe_path[n > 0 ? n : 0] = '\0';
    const char *base = hs_exe_path;
    for (const char *p = hs_exe_path; *p; p++)
        if (*p == '/') base = p + 1;
    if (*base) {
        size_t len = strlen(base);
        if (len >= sizeof hs_program) len = sizeof hs_program - 1;
        memcpy(hs_program, base, len);
        hs_program[len] = '\0';
    }
}

/* HEAPSNAP_ONLY=name[,name...]: track only programs whose executable's or argv[0]'s basename is
 * listed; every other process (children of a traced shell script, say) stays dormant. */
static bool name_listed(const char *list, const char *name) {
    if (!name || !*name) return false;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        const char *end = p;
        while (*end && *end != ',') end++;
        if ((size_t)(end - p) == n && memcmp(p, name, n) == 0) return true;
        p = *end ? end + 1 : end;
    }
    return false;
}

static bool selected(bool libc_ready) {
    const char *only = __environ ? getenv("HEAPSNAP_ONLY") : NULL;
    if (!only || !*only) return true;
    if (name_listed(only, hs_program)) return true;
    return libc_ready && name_listed(only, program_invocation_short_name);
}

/* The first hook call of the process lands here, possibly before libc's own constructor has run;
 * the environment is read again, definitively, in our constructor. */
void hs_early_init(void) {
    int expected = 0;
    if (!atomic_compare_exchange_strong(&hs_state, &expected, 1)) return;
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    if (__environ) parse_config(false);
    read_identity();
    atomic_store_explicit(&hs_state, selected(false) ? 2 : 3, memory_order_release);
    hs_in_tracker = guard;
}

/* ---------------------------------------------------------------- the tracker thread */

static int wake_pipe[2] = {-1, -1};
static dev_t wake_device, wake_read_device;
static ino_t wake_inode, wake_read_inode;

/* The program may have closed our descriptor and reused its number for a file of its own. */
static bool still_ours(int fd, dev_t device, ino_t inode) {
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}
static _Atomic int thread_running;

static void on_signal(int sig) {
    int saved = errno;
    /* A program that closes every descriptor (daemons do) may have reused the number for a file of
     * its own: write only into the pipe we made. fstat is async-signal-safe. */
    if (still_ours(wake_pipe[1], wake_device, wake_inode)) {
        char byte = 1;
        /* MSG_NOSIGNAL: if the program closed the reading end, no SIGPIPE kills it */
        if (send(wake_pipe[1], &byte, 1, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) { /* full: one is pending */
        }
    }
    errno = saved;
}

static void *tracker_thread(void *unused) {
    hs_in_tracker = 1; /* whatever this thread allocates is the tracker's, never traced */
    uint64_t interval = hs_config.interval_ns;
    uint64_t next = interval ? hs_monotonic_ns() + interval : 0;
    bool watch_pipe = true;
    for (;;) {
        struct pollfd pfd = {wake_pipe[0], POLLIN, 0};
        struct timespec timeout, *timeout_ptr = NULL;
        if (interval) {
            uint64_t now = hs_monotonic_ns();
            uint64_t wait = next > now ? next - now : 0;
            timeout.tv_sec = (time_t)(wait / 1000000000ull);
            timeout.tv_nsec = (long)(wait % 1000000000ull);
            timeout_ptr = &timeout;
        }
        if (!watch_pipe) pfd.fd = -1;
        int ready = ppoll(&pfd, 1, timeout_ptr, NULL);
        if (ready > 0 && ((pfd.revents & (POLLNVAL | POLLERR | POLLHUP)) ||
                          !still_ours(wake_pipe[0], wake_read_device, wake_read_inode))) {
            watch_pipe = false; /* the program closed our pipe: no more signal snapshots */
            if (!interval) return NULL;
        } else if (ready > 0 && (pfd.revents & POLLIN)) {
            char drain[64];
            while (read(wake_pipe[0], drain, sizeof drain) > 0) {
            }
            hs_take_snapshot(HS_SIGNAL, NULL, false);
        } else if (ready < 0 && errno != EINTR) {
            if (!interval) return NULL;
            struct timespec pause = {0, 10000000};
            nanosleep(&pause, NULL);
        }
        if (interval && hs_monotonic_ns() >= next) {
            hs_take_snapshot(HS_INTERVAL, NULL, false);
            uint64_t now = hs_monotonic_ns();
            next += interval;
            if (next <= now) next = now + interval;
        }
    }
    return NULL;
}

/* Runs under the guard. The thread starts with every signal blocked so none is ever delivered to it. */
void hs_start_thread(void) {
    int wanted = 1;
    if (!atomic_compare_exchange_strong(&hs_thread_wanted, &wanted, 0)) return;
    if (!hs_config.signal && !hs_config.interval_ns) return;
    if (atomic_exchange(&thread_running, 1)) return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, tracker_thread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_store(&thread_running, 0);
        hs_warn("cannot start the tracker thread; signal and interval snapshots are off", NULL, rc);
        return;
    }
    pthread_setname_np(thread, "heapsnap");
}

static bool open_wake_pipe(void) {
    if (wake_pipe[0] >= 0) close(wake_pipe[0]);
    if (wake_pipe[1] >= 0) close(wake_pipe[1]);
    wake_pipe[0] = wake_pipe[1] = -1;
    /* a socket pair, not a pipe, so that the signal handler can send with MSG_NOSIGNAL */
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, wake_pipe) != 0) return false;
    shutdown(wake_pipe[0], SHUT_WR);
    shutdown(wake_pipe[1], SHUT_RD);
    /* out of the low numbers a program may expect open() to hand back (e.g. after closing stdin) */
    for (int i = 0; i < 2; i++) {
        int high = fcntl(wake_pipe[i], F_DUPFD_CLOEXEC, 100);
        if (high >= 0) {
            close(wake_pipe[i]);
            wake_pipe[i] = high;
        }
    }
    struct stat st, read_st;
    if (fstat(wake_pipe[1], &st) != 0 || fstat(wake_pipe[0], &read_st) != 0) return false;
    wake_device = st.st_dev;
    wake_inode = st.st_ino;
    wake_read_device = read_st.st_dev;
    wake_read_inode = read_st.st_ino;
    return true;
}

/* ---------------------------------------------------------------- fork */

/* The guard stays up from our prepare handler to our parent/child handler: other fork handlers that
 * run in between and allocate must not wait for the locks this thread holds. */
static __thread int guard_before_fork __attribute__((tls_model("initial-exec")));

static void before_fork(void) {
    guard_before_fork = hs_in_tracker;
    hs_in_tracker = 1;
    pthread_mutex_lock(&hs_snapshot_lock);
    hs_python_before_fork();
    pthread_mutex_lock(&hs_modules_lock);
    pthread_mutex_lock(&hs_stacks_append_lock);
    hs_lock_all_shards();
}

static void after_fork_parent(void) {
    hs_unlock_all_shards();
    pthread_mutex_unlock(&hs_stacks_append_lock);
    pthread_mutex_unlock(&hs_modules_lock);
    hs_python_after_fork_parent();
    pthread_mutex_unlock(&hs_snapshot_lock);
    hs_in_tracker = guard_before_fork;
}

/* The child is a new process to the tracker: its own pid, start time, totals and sequence, files of
 * its own; the live blocks it inherited are really there and stay. */
static void after_fork_child(void) {
    hs_pid = getpid();
    hs_start_ns = hs_realtime_ns();
    hs_tables_after_fork_child();
    hs_modules_after_fork_child();
    hs_python_after_fork_child();
    hs_snapshot_after_fork_child();
    atomic_store(&thread_running, 0);
    if (hs_config.signal || hs_config.interval_ns) {
        if (open_wake_pipe()) atomic_store(&hs_thread_wanted, 1); /* started by the next allocation */
    }
    hs_in_tracker = guard_before_fork;
}

/* ---------------------------------------------------------------- start and exit */

__attribute__((constructor)) static void heapsnap_start(void) {
    int guard = hs_in_tracker;
    hs_in_tracker = 1;
    if (atomic_load(&hs_state) == 0) hs_early_init();
    if (!selected(true)) {
        atomic_store(&hs_state, 3); /* dormant: every call goes straight to glibc, no files */
        hs_in_tracker = guard;
        return;
    }
    atomic_store(&hs_state, 2);
    parse_config(true);
    anchor_directory();
    if (!hs_exe_path[0]) read_identity();
    hs_unwind_init();
    hs_modules_refresh();
    hs_python_init();
    pthread_atfork(before_fork, after_fork_parent, after_fork_child);
    if (hs_config.signal || hs_config.interval_ns) {
        if (!open_wake_pipe()) {
            hs_warn("cannot create a pipe; signal and interval snapshots are off", NULL, errno);
        } else {
            if (hs_config.signal) {
                struct sigaction action;
                memset(&action, 0, sizeof action);
                action.sa_handler = on_signal;
                action.sa_flags = SA_RESTART; /* the program's system calls must not see EINTR */
                sigemptyset(&action.sa_mask);
                sigaction(hs_config.signal, &action, NULL);
            }
            atomic_store(&hs_thread_wanted, 1);
            hs_start_thread();
        }
    }
    hs_in_tracker = guard;
}

__attribute__((destructor)) static void heapsnap_finish(void) {
    if (atomic_load(&hs_state) != 2) return;
    hs_take_snapshot(HS_EXIT, NULL, false);
}
