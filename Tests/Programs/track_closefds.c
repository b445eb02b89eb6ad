/* Closes every descriptor from 3 to 199 but 101, like a daemon tidying up, then sends itself the
 * snapshot signal: the tracker must neither kill it (SIGPIPE) nor write into a reused descriptor. */
#include "track_common.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

int main(void) {
    for (int fd = 3; fd < 200; fd++)
        if (fd != 101) close(fd);
    /* files of the program's own under the numbers the tracker had: always readable, never ours */
    int zero = open("/dev/zero", O_RDONLY);
    CHECK(zero >= 0 && dup2(zero, 100) == 100);
    int mine = open("/dev/null", O_WRONLY);
    CHECK(mine >= 0);
    CHECK(kill(getpid(), SIGUSR2) == 0);
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    puts("alive");
    return 0;
}
