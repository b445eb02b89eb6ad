/* The tracker thread: writes the signal snapshots (the handler only wakes it through a socket pair) and
 * the interval snapshots. Started by the constructor, and in a fork child by its first allocation. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

_Atomic int hs_thread_wanted;

static int wake_pipe[2] = {-1, -1};
static dev_t wake_device, wake_read_device;
static ino_t wake_inode, wake_read_inode;
static _Atomic int thread_running;

/* The program may have closed our descriptor and reused its number for a file of its own. */
static bool still_ours(int fd, dev_t device, ino_t inode) {
    struct stat st;
    return fstat(fd, &st) == 0 && st.st_dev == device && st.st_ino == inode;
}

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

void hs_start_snapshot_triggers(void) {
    if (!hs_config.signal && !hs_config.interval_ns) return;
    if (!open_wake_pipe()) {
        hs_warn("cannot create a pipe; signal and interval snapshots are off", NULL, errno);
        return;
    }
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

/* A fork child has no tracker thread; it gets its own pipe, and its next allocation starts one. */
void hs_tracker_thread_after_fork_child(void) {
    atomic_store(&thread_running, 0);
    if (hs_config.signal || hs_config.interval_ns) {
        if (open_wake_pipe()) atomic_store(&hs_thread_wanted, 1);
    }
}
