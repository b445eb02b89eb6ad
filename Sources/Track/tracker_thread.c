/* The tracker thread: serves `heapsnap snap` on the control socket, takes interval snapshots and
 * the ones a snapshot signal asked for (when HEAPSNAP_SIGNAL chose one), and never keeps the process
 * alive or takes a signal meant for the program.
 *
 * - glibc ends a process when its last thread ends (pthread_exit in main, or a fork child's only
 *   thread returning): the thread that finds the count __nptl_nthreads down to zero calls exit(0),
 *   with its atexit handlers, destructors (our exit snapshot) and stdio flushing. Our thread is taken
 *   out of that count as soon as it is created, so the program's last thread still finds zero and
 *   ends the process itself, in its own context, exactly as without the tracker. Our thread never
 *   returns; exit_group ends it.
 * - Where that count cannot be found (another libc), the thread checks every POLL_NS whether it is
 *   the last one running and then returns, so that the C library's own last-thread rule ends the
 *   process.
 * - Its descriptors live in a file table of its own (unshare(CLONE_FILES), then every inherited copy
 *   closed): the control socket and the files it writes are invisible to the program, can never
 *   collide with a number it uses, never survive its exec and never see its data. (Only when it is
 *   out of the thread count: a thread that may end the process must keep the program's files.)
 * - It blocks every signal, so none of the program's is ever delivered to it. */
#include "internal.h"

#include "heapsnap_format.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define POLL_NS 100000000ull /* 100 ms: how late the process may end after its last thread, and a signal's snapshot */

_Atomic int hs_thread_wanted;

static _Atomic int thread_running;
static _Atomic int signal_pending;
static bool private_table; /* this thread's descriptors are its own */
static bool uncounted;     /* taken out of glibc's thread count */

/* ---------------------------------------------------------------- the snapshot signal */

/* Async-signal-safe and descriptor-free: the thread notices within POLL_NS. */
static void on_snapshot_signal(int sig) {
    (void)sig;
    atomic_store_explicit(&signal_pending, 1, memory_order_relaxed);
}

/* ---------------------------------------------------------------- a file table of our own */

static bool own_file_table(void) {
    if (unshare(CLONE_FILES) != 0) return false;
    /* the copy holds every file the program had open: drop it at once (a pipe's reader would not
     * see end-of-file while we hold its writing end) */
    if (syscall(SYS_close_range, 0u, ~0u, 0u) != 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long fd = 0; fd < (max > 0 ? max : 65536); fd++) close((int)fd);
    }
    return true;
}

/* Without a table of our own (unshare refused by a sandbox), out of the numbers a program expects. */
static int out_of_the_way(int fd) {
    if (fd < 0 || private_table) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, HS_HIGH_FD);
    if (high < 0) return fd;
    close(fd);
    return high;
}

/* ---------------------------------------------------------------- liveness */

/* True when every thread of the process but this one has ended. The main thread of a process whose
 * other threads still run stays a zombie, counted in num_threads, until the last one ends: so the
 * process is down to us when the main thread (whose state /proc/self/stat shows) is a zombie and only
 * it and we are counted. */
static bool last_thread_running(void) {
    char text[1024];
    int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    ssize_t n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n <= 0) return false;
    text[n] = '\0';
    char *p = strrchr(text, ')'); /* the command name may hold spaces and parentheses */
    if (!p || p[1] != ' ') return false;
    p += 2;
    char state = *p;
    if (state != 'Z' && state != 'X') return false;
    /* fields after the name: state is field 3, num_threads field 20 */
    for (int field = 3; field < 20; field++) {
        p = strchr(p, ' ');
        if (!p) return false;
        p++;
    }
    long threads = 0;
    for (; *p >= '0' && *p <= '9'; p++) threads = threads * 10 + (*p - '0');
    return threads <= 2;
}

/* ---------------------------------------------------------------- the control socket */

static int open_control_socket(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    fd = out_of_the_way(fd);
    struct sockaddr_un address;
    memset(&address, 0, sizeof address);
    address.sun_family = AF_UNIX;
    /* abstract name: nothing in the file system to clean up, gone with the process */
    int length = snprintf(address.sun_path + 1, sizeof address.sun_path - 1, HEAPSNAP_CONTROL_SOCKET_PREFIX "%d", (int)hs_pid);
    socklen_t size = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)length);
    if (bind(fd, (struct sockaddr *)&address, size) != 0 || listen(fd, 8) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static void reply(int fd, const char *a, const char *b) {
    char line[HS_PATH_MAX + 64];
    int n = snprintf(line, sizeof line, "%s%s\n", a, b ? b : "");
    if (n < 0) return;
    if ((size_t)n >= sizeof line) n = (int)sizeof line - 1;
    for (int at = 0; at < n;) {
        ssize_t k = send(fd, line + at, (size_t)(n - at), MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) return;
        at += (int)k;
    }
}

/* One request: "snap\n" answers "ok <path>" once the file is in place, or "error <reason>". Only the
 * process's own user or root may ask. */
static void serve_one(int listen_fd) {
    int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0) return;
    fd = out_of_the_way(fd);
    struct ucred peer;
    socklen_t size = sizeof peer;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &size) != 0 || (peer.uid != 0 && peer.uid != geteuid())) {
        reply(fd, HEAPSNAP_CONTROL_ANSWER_ERROR "permission denied: only the process's user or root may ask for a snapshot", NULL);
        close(fd);
        return;
    }
    char request[64];
    size_t used = 0;
    while (used < sizeof request - 1) {
        struct pollfd pfd = {fd, POLLIN, 0};
        if (poll(&pfd, 1, 2000) <= 0) break; /* a client that says nothing does not hold the thread */
        ssize_t k = recv(fd, request + used, sizeof request - 1 - used, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        used += (size_t)k;
        if (memchr(request, '\n', used)) break;
    }
    request[used] = '\0';
    if (strcmp(request, HEAPSNAP_CONTROL_REQUEST_SNAP) == 0) {
        char path[HS_PATH_MAX];
        if (hs_take_snapshot_reporting(HS_CONTROL, path, sizeof path) == 0) {
            reply(fd, HEAPSNAP_CONTROL_ANSWER_OK, path);
        } else {
            int err = errno;
            char reason[HS_PATH_MAX + 128];
            if (err == ENOTSUP) snprintf(reason, sizeof reason, "not tracking");
            else if (err == ESHUTDOWN) snprintf(reason, sizeof reason, "the process is exiting (its exit snapshot is written or being written)");
            else if (err == EDQUOT) snprintf(reason, sizeof reason, "the run's disk budget (HEAPSNAP_MAX_DISK) is spent");
            else snprintf(reason, sizeof reason, "cannot write %s: %s", path[0] ? path : "a snapshot", strerror(err));
            reply(fd, HEAPSNAP_CONTROL_ANSWER_ERROR, reason);
        }
    } else {
        reply(fd, HEAPSNAP_CONTROL_ANSWER_ERROR "unknown request", NULL);
    }
    close(fd);
}

/* ---------------------------------------------------------------- the thread */

static void *tracker_main(void *unused) {
    (void)unused;
    hs_in_tracker = 1; /* whatever this thread allocates is the tracker's, never traced */
    private_table = uncounted && own_file_table();
    int listen_fd = open_control_socket();
    uint64_t interval = hs_config.interval_ns;
    uint64_t now = hs_monotonic_ns();
    uint64_t next_interval = interval ? now + interval : UINT64_MAX;
    /* a wake-up every POLL_NS only for what needs one: a snapshot signal's flag, or the liveness check */
    uint64_t next_check = hs_config.signal || !uncounted ? now + POLL_NS : UINT64_MAX;
    for (;;) {
        now = hs_monotonic_ns();
        uint64_t until = next_check < next_interval ? next_check : next_interval;
        uint64_t wait = until > now ? until - now : 0;
        struct timespec timeout = {(time_t)(wait / 1000000000ull), (long)(wait % 1000000000ull)};
        struct pollfd pfd = {listen_fd, POLLIN, 0};
        int ready = ppoll(&pfd, 1, until == UINT64_MAX ? NULL : &timeout, NULL);
        if (ready > 0 && (pfd.revents & POLLIN)) serve_one(listen_fd);
        if (atomic_exchange_explicit(&signal_pending, 0, memory_order_relaxed)) hs_take_snapshot(HS_SIGNAL, NULL, false);
        now = hs_monotonic_ns();
        if (now >= next_interval) {
            hs_take_snapshot(HS_INTERVAL, NULL, false);
            now = hs_monotonic_ns();
            next_interval += interval;
            if (next_interval <= now) next_interval = now + interval;
        }
        if (now >= next_check) {
            next_check = now + POLL_NS;
            if (!uncounted && last_thread_running()) break;
        }
    }
    if (listen_fd >= 0) close(listen_fd);
    return NULL; /* the C library sees its last thread end and calls exit(0) */
}

/* Runs under the guard. The thread starts with every signal blocked so none is ever delivered to it. */
void hs_start_thread(void) {
    int wanted = 1;
    if (!atomic_compare_exchange_strong(&hs_thread_wanted, &wanted, 0)) return;
    if (atomic_exchange(&thread_running, 1)) return;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 256 * 1024);
    static unsigned int *thread_count;
    static bool looked_up;
    if (!looked_up) {
        /* glibc 2.34 and later export it to its own libraries as GLIBC_PRIVATE */
        thread_count = dlvsym(RTLD_DEFAULT, "__nptl_nthreads", "GLIBC_PRIVATE");
        looked_up = true;
    }
    uncounted = thread_count != NULL;
    pthread_t thread;
    int rc = pthread_create(&thread, &attr, tracker_main, NULL);
    /* pthread_create counted it before the clone; this (program) thread lives on past the decrement,
     * so the count cannot reach zero in between */
    if (rc == 0 && uncounted) __atomic_fetch_sub(thread_count, 1, __ATOMIC_SEQ_CST);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        atomic_store(&thread_running, 0);
        hs_warn("cannot start the tracker thread; heapsnap snap, signal and interval snapshots are off", NULL, rc);
        return;
    }
    pthread_setname_np(thread, "heapsnap");
}

/* The constructor: the snapshot signal's handler, only when HEAPSNAP_SIGNAL names one (by default every
 * disposition stays the program's), and the thread. */
void hs_start_snapshot_triggers(void) {
    if (hs_config.signal) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_snapshot_signal;
        action.sa_flags = SA_RESTART; /* the program's system calls must not see EINTR */
        sigemptyset(&action.sa_mask);
        sigaction(hs_config.signal, &action, NULL);
    }
    atomic_store(&hs_thread_wanted, 1);
    hs_start_thread();
}

/* In a fork child: no thread runs; the next allocation starts one. */
void hs_tracker_thread_after_fork_child(void) {
    atomic_store(&thread_running, 0);
    atomic_store(&signal_pending, 0);
    atomic_store(&hs_thread_wanted, 1);
}
