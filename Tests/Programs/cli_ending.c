// CLI test program: keeps 3 blocks of 1000 bytes, says how it will end, then ends that way, so that
// `heapsnap run` can tell each way a program leaves no exit snapshot. Usage: cli_ending MODE
//   exit   return from main (the exit snapshot is written)
//   _exit  _exit(0): no exit handlers
//   abort  abort() (SIGABRT), core dumps off
//   kill   SIGKILL sent to itself, as the OOM killer would
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

static void *kept[3];

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "exit";
    for (int i = 0; i < 3; i++)
        kept[i] = malloc(1000); // @site:kept
    printf("cli_ending: %s\n", mode);
    fflush(stdout);
    if (strcmp(mode, "_exit") == 0)
        _exit(0);
    if (strcmp(mode, "abort") == 0) {
        struct rlimit none = {0, 0};
        setrlimit(RLIMIT_CORE, &none);
        abort();
    }
    if (strcmp(mode, "kill") == 0)
        kill(getpid(), SIGKILL);
    return strcmp(mode, "exit") == 0 ? 0 : 2;
}
