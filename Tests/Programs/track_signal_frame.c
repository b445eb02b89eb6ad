/* An allocation in a signal handler: libunwind walks through the signal frame, where it validates
 * addresses (with the tracker's process_vm_readv stand-in, not a pipe), back to main. argv[1] = path. */
#include "track_common.h"

#include <signal.h>

static void *kept;
__attribute__((noinline)) void handler_site(void) { kept = malloc(7777); }
static void on_usr1(int sig) {
    (void)sig;
    handler_site();
}
__attribute__((noinline)) void raising_frame(void) { raise(SIGUSR1); }

int main(int argc, char **argv) {
    CHECK(argc == 2);
    signal(SIGUSR1, on_usr1);
    raising_frame();
    take_snapshot(argv[1]);
    return 0;
}
