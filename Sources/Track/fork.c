/* fork: the tracker's locks are held across it so the child inherits consistent tables; the child then
 * becomes a process of its own to the tracker. */
#include "internal.h"
#include "python.h"

#include <unistd.h>

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
    hs_tracker_thread_after_fork_child();
    hs_budget_after_fork_child();
    hs_in_tracker = guard_before_fork;
}

void hs_install_fork_handlers(void) { pthread_atfork(before_fork, after_fork_parent, after_fork_child); }
