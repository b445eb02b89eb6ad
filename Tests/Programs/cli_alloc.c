// CLI test program: known allocations at marked lines, two API snapshots, stdin/stdout/exit status
// passed through. Usage: cli_alloc EXIT_STATUS [signal]
//   stdout: "cli_alloc: " + the first line of stdin, upper-cased
//   then 10 blocks of 1000 bytes (kept) and 5 of 4096 (calloc, kept), snapshot 1,
//   20 more blocks of 1000 bytes and 3 freed scratch blocks, snapshot 2, then exit(EXIT_STATUS),
//   or raise the signal when given.
#define _GNU_SOURCE
#include <ctype.h>
#include <dlfcn.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kept[64];
static int kept_count;

static void keep_blocks(int n)
{
    for (int i = 0; i < n; i++)
        kept[kept_count++] = malloc(1000); // @site:blocks
}

static void keep_tables(void)
{
    for (int i = 0; i < 5; i++)
        kept[kept_count++] = calloc(1, 4096); // @site:tables
}

static void scratch(void)
{
    for (int i = 0; i < 3; i++) {
        char *buffer = malloc(777); // @site:scratch
        memset(buffer, 0, 777);
        free(buffer);
    }
}

int main(int argc, char **argv)
{
    int status = argc > 1 ? atoi(argv[1]) : 0;
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");

    char line[256] = "";
    if (fgets(line, sizeof line, stdin) != NULL) {
        for (char *p = line; *p; p++)
            *p = (char)toupper((unsigned char)*p);
        printf("cli_alloc: %s", line);
        fflush(stdout);
    }

    keep_blocks(10);
    keep_tables();
    if (snapshot != NULL && snapshot(NULL) != 0)
        return 100;
    keep_blocks(20);
    scratch();
    if (snapshot != NULL && snapshot(NULL) != 0)
        return 100;
    if (argc > 2)
        raise(atoi(argv[2]));
    return status;
}
