/* The tracker must never write through a symlink nor replace a file it did not create.
 * argv[1] = a folder. Prints "ok" when every refusal happened. */
#include "track_common.h"

#include <unistd.h>

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
}

int main(int argc, char **argv) {
    CHECK(argc == 2);
    int (*snapshot)(const char *) = (int (*)(const char *))tracker_function("heapsnap_snapshot");
    char victim[4096], link_path[4096], temporary[4096], existing[4096];
    snprintf(victim, sizeof victim, "%s/victim", argv[1]);
    write_file(victim, "precious");

    /* a symlink where the snapshot should go */
    snprintf(link_path, sizeof link_path, "%s/linked.heapsnap", argv[1]);
    CHECK(symlink(victim, link_path) == 0);
    errno = 0;
    CHECK(snapshot(link_path) == -1 && errno == EEXIST);

    /* a symlink where the temporary file should go */
    char target[4096];
    snprintf(target, sizeof target, "%s/target.heapsnap", argv[1]);
    snprintf(temporary, sizeof temporary, "%s.tmp.%d", target, (int)getpid());
    CHECK(symlink(victim, temporary) == 0);
    errno = 0;
    CHECK(snapshot(target) == -1 && errno == EEXIST);
    CHECK(access(target, F_OK) != 0);

    /* a plain file that is not ours */
    snprintf(existing, sizeof existing, "%s/existing.heapsnap", argv[1]);
    write_file(existing, "not a snapshot");
    errno = 0;
    CHECK(snapshot(existing) == -1 && errno == EEXIST);

    /* errno is left alone on success */
    char fresh[4096];
    snprintf(fresh, sizeof fresh, "%s/fresh.heapsnap", argv[1]);
    errno = 99;
    CHECK(snapshot(fresh) == 0 && errno == 99);
    puts("ok");
    return 0;
}
