// A program that says which signal reached it: `cli_signals catch` handles SIGTERM, SIGHUP and SIGINT,
// prints "got SIGNAME" and exits with 64 + the signal's number; `cli_signals default` leaves every
// disposition alone (and dies of the signal). Either way it first prints "ready PID PPID PGID" and
// then waits for a signal.
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t received;

static void record(int signal) { received = signal; }

int main(int argc, char **argv) {
    int catching = argc > 1 && strcmp(argv[1], "catch") == 0;
    sigset_t waiting, blocked;
    sigemptyset(&blocked);
    if (catching) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = record;
        sigemptyset(&action.sa_mask);
        int signals[] = {SIGTERM, SIGHUP, SIGINT};
        for (int i = 0; i < 3; i++) {
            sigaction(signals[i], &action, NULL);
            sigaddset(&blocked, signals[i]);
        }
    }
    // Blocked until sigsuspend, so that a signal sent right after "ready" is not missed.
    sigprocmask(SIG_BLOCK, &blocked, &waiting);
    printf("ready %d %d %d\n", (int)getpid(), (int)getppid(), (int)getpgrp());
    fflush(stdout);
    while (!received) sigsuspend(&waiting);
    const char *name = received == SIGTERM ? "SIGTERM" : received == SIGHUP ? "SIGHUP"
                     : received == SIGINT ? "SIGINT" : "another signal";
    printf("got %s\n", name);
    return 64 + received;
}
