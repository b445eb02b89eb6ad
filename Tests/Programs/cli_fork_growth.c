// CLI test program: three processes of one run writing to one folder, for `heapsnap growth` over many
// processes. Usage: cli_fork_growth ROUNDS
//   the parent forks a worker and a helper first, then keeps 4 blocks of 2000 bytes per round and
//   takes a snapshot after each round (then its exit snapshot);
//   the worker keeps 3 blocks of 5000 bytes per round, a snapshot after each, and _exits (too small
//   for an exit snapshot of a child);
//   the helper takes one snapshot and _exits.
// Nothing is printed after the first line, so no stdio buffer appears between two snapshots.
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int (*snapshot)(const char *);

static void take(void)
{
    if (snapshot == NULL || snapshot(NULL) != 0)
        _exit(100);
}

static void parent_round(void)
{
    for (int i = 0; i < 4; i++)
        if (malloc(2000) == NULL) // @site:parent
            _exit(101);
}

static void worker_round(void)
{
    for (int i = 0; i < 3; i++)
        if (malloc(5000) == NULL) // @site:worker
            _exit(101);
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    snapshot = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    printf("cli_fork_growth: %d rounds\n", rounds);
    fflush(stdout);
    pid_t worker = fork();
    if (worker == 0) {
        for (int round = 0; round < rounds; round++) {
            worker_round();
            take();
        }
        _exit(0);
    }
    pid_t helper = fork();
    if (helper == 0) {
        take();
        _exit(0);
    }
    for (int round = 0; round < rounds; round++) {
        parent_round();
        take();
    }
    int status, failed = 0;
    if (waitpid(worker, &status, 0) != worker || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        failed = 1;
    if (waitpid(helper, &status, 0) != helper || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        failed = 1;
    return failed ? 103 : 0;
}
