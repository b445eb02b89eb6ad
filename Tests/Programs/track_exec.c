/* fork + exec: the exec'd program inherits LD_PRELOAD and is tracked under its own pid. */
#include "track_common.h"

#include <sys/wait.h>
#include <unistd.h>

__attribute__((noinline)) void *exec_child_site(void) { return malloc(777); }

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "child") == 0) {
        void *p = exec_child_site();
        (void)p;
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "self") == 0) {
        /* exec without fork: same pid, a new image whose sequence restarts and must not overwrite */
        take_snapshot(NULL);
        execl("/proc/self/exe", "track_exec", "child", (char *)NULL);
        return 127;
    }
    fflush(stdout);
    pid_t child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        execl("/proc/self/exe", "track_exec", "child", (char *)NULL);
        _exit(127);
    }
    int status;
    CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0);
    printf("%d\n", (int)child);
    return 0;
}
