/* Allocations in signal handlers, on the thread's stack and on an alternate signal stack, while the
 * program itself allocates: the own unwinder hands captures through a signal frame to libunwind and
 * takes the others itself. argv[1] = snapshot path. */
#include "track_common.h"

#include <signal.h>
#include <stdint.h>
#include <sys/time.h>

#define NOINLINE __attribute__((noinline))

static void *volatile kept[64];
static volatile sig_atomic_t handled;

NOINLINE void handler_site(int slot) { kept[slot % 64] = malloc(7777); }

static void on_signal(int sig) {
    (void)sig;
    handler_site(handled);
    handled = handled + 1;
}

NOINLINE void raising_frame(int sig) {
    CHECK(raise(sig) == 0); /* not a tail call: this frame stays under the signal frame */
}

NOINLINE void busy_site(int i) {
    void *p = malloc(48);
    CHECK(p != NULL);
    ((volatile char *)p)[0] = (char)i;
    free(p);
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    signal(SIGUSR1, on_signal);
    for (int i = 0; i < 10; i++) raising_frame(SIGUSR1);

    static char alternate[64 * 1024];
    stack_t ss = {.ss_sp = alternate, .ss_size = sizeof alternate, .ss_flags = 0};
    CHECK(sigaltstack(&ss, NULL) == 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_ONSTACK | SA_RESTART;
    CHECK(sigaction(SIGUSR2, &sa, NULL) == 0);
    for (int i = 0; i < 10; i++) raising_frame(SIGUSR2);

    /* timer signals land anywhere in the loop, inside malloc too (then the handler's block is untracked) */
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0);
    struct itimerval every = {{0, 2000}, {0, 2000}};
    CHECK(setitimer(ITIMER_REAL, &every, NULL) == 0);
    for (int i = 0; i < 200000 && handled < 40; i++) busy_site(i);
    struct itimerval off = {{0, 0}, {0, 0}};
    CHECK(setitimer(ITIMER_REAL, &off, NULL) == 0);
    take_snapshot(argv[1]);
    return 0;
}
