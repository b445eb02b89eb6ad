/* The child of fork tracks into its own files with its own counters. Prints the child's pid. */
#include "track_common.h"

#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void *parent_site(void) { return malloc(1000); }

__attribute__((noinline)) void child_site(void **out) {
    for (int i = 0; i < 3; i++) out[i] = malloc(200);
}

int main(void) {
    void *before = parent_site();
    fflush(stdout);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        void *blocks[3];
        child_site(blocks);
        exit(0); /* exit, not _exit: the exit snapshot is written by a destructor */
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("%d\n", (int)child);
    (void)before;
    return 0;
}
