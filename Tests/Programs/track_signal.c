/* Signal snapshots: sends itself the signal given as argv[2] (a number) and waits for the file
 * `<dir>/track_signal.<pid>.0001.heapsnap` (argv[1] = dir). With argv[1] = "sleep" and argv[2] = ms
 * it just sleeps, for interval snapshots. */
#include "track_common.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

__attribute__((noinline)) void *signal_site(void) { return malloc(4321); }

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

int main(int argc, char **argv) {
    CHECK(argc == 3);
    void *p = signal_site();
    (void)p;
    if (strcmp(argv[1], "sleep") == 0) {
        sleep_ms(atol(argv[2]));
        return 0;
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/track_signal.%d.0001.heapsnap", argv[1], (int)getpid());
    CHECK(kill(getpid(), atoi(argv[2])) == 0);
    for (int i = 0; i < 1000 && access(path, F_OK) != 0; i++) sleep_ms(10);
    CHECK(access(path, F_OK) == 0);
    return 0;
}
