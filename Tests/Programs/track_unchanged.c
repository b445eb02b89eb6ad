/* Programs that must behave exactly the same with and without the tracker (issue 9): the test runs
 * each mode both ways and compares stdout, stderr and the exit status. argv[1] is the mode. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* deep enough that every allocation makes the unwinder walk a few frames */
__attribute__((noinline)) static void *allocate_deep(int depth, size_t size) {
    if (depth == 0) return malloc(size);
    void *p = allocate_deep(depth - 1, size);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void churn(int count) {
    for (int i = 0; i < count; i++) free(allocate_deep(8, 64 + (size_t)i));
}

static void said_goodbye(void) { puts("atexit handler ran"); }

static void *worker_returns(void *arg) {
    sleep_ms(100);
    churn(100);
    printf("worker %s done\n", (const char *)arg);
    return NULL;
}

/* main() { pthread_create(...); pthread_exit(NULL); }: the process ends when the worker returns,
 * status 0, after the atexit handlers and with stdout flushed. */
static int pthread_exit_from_main(void) {
    atexit(said_goodbye);
    pthread_t t;
    pthread_create(&t, NULL, worker_returns, "after main's pthread_exit");
    printf("main calls pthread_exit\n"); /* buffered: flushed by exit() in the worker's context */
    pthread_exit(NULL);
}

/* A thread forks; in the child that thread returns from its start routine: the child ends (status 0). */
static void *forking_thread(void *arg) {
    (void)arg;
    churn(10);
    fflush(stdout);
    pid_t child = fork();
    if (child == 0) {
        churn(100);
        printf("child of a thread returns\n");
        return NULL; /* the child's only thread ends: exit(0) */
    }
    int status = 0;
    waitpid(child, &status, 0);
    printf("child ended: %s %d\n", WIFEXITED(status) ? "status" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return NULL;
}

static int fork_from_thread(void) {
    pthread_t t;
    pthread_create(&t, NULL, forking_thread, NULL);
    pthread_join(t, NULL);
    return 0;
}

static void *sleeper(void *arg) {
    (void)arg;
    for (;;) sleep_ms(1000);
    return NULL;
}

/* After main's pthread_exit a thread sleeps on; a SIGTERM from outside ends the process by SIGTERM. */
static int term_after_pthread_exit(void) {
    pthread_t t;
    pthread_create(&t, NULL, sleeper, NULL);
    pid_t parent = getpid();
    if (fork() == 0) {
        sleep_ms(300);
        kill(parent, SIGTERM);
        _exit(0);
    }
    churn(100);
    pthread_exit(NULL);
}

/* A daemon closes every descriptor, then writes to stdout and opens a file: EBADF, then 0. */
static int closefrom_zero(void) {
    churn(100);
    syscall(SYS_close_range, 0u, ~0u, 0u);
    churn(1000); /* the unwinder runs with no descriptor open */
    errno = 0;
    ssize_t wrote = write(1, "lost\n", 5);
    int write_errno = errno;
    int fd = open("/dev/null", O_RDONLY);
    churn(100);
    int next = open("/dev/null", O_RDONLY);
    /* nothing to print to: the status says it all */
    return (wrote == -1 && write_errno == EBADF ? 1 : 0) | (fd == 0 ? 2 : 0) | (next == 1 ? 4 : 0);
}

/* Every signal's disposition as the program finds it at start. */
static int dispositions(void) {
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP || (sig >= 32 && sig < SIGRTMIN)) continue;
        struct sigaction old;
        if (sigaction(sig, NULL, &old) != 0) continue;
        if (old.sa_handler != SIG_DFL) printf("signal %d: %s\n", sig, old.sa_handler == SIG_IGN ? "ignored" : "handled");
    }
    struct sigaction usr2;
    sigaction(SIGUSR2, NULL, &usr2);
    printf("SIGUSR2 is %s\n", usr2.sa_handler == SIG_DFL ? "SIG_DFL" : "changed");
    sigset_t blocked;
    sigprocmask(SIG_BLOCK, NULL, &blocked);
    for (int sig = 1; sig < NSIG; sig++)
        if (sigismember(&blocked, sig) == 1) printf("signal %d blocked\n", sig);
    return 0;
}

/* SIGUSR2's default action ends the program. */
static int usr2_default(void) {
    churn(100);
    fflush(stdout);
    raise(SIGUSR2);
    sleep_ms(500);
    puts("still alive after SIGUSR2");
    return 0;
}

/* The program's descriptors, by number and kind. First closes every inherited one but 0-2 and
 * executes itself again, so that the listing is only of what the new image (and the tracker in it)
 * opened, whatever the test runner leaked into it. */
static int list_descriptors(char **argv) {
    if (!argv[2]) {
        syscall(SYS_close_range, 3u, ~0u, 0u);
        execl("/proc/self/exe", argv[0], argv[1], "again", (char *)NULL);
        return 7;
    }
    churn(100);
    DIR *d = opendir("/proc/self/fd");
    if (!d) return 5;
    int own = dirfd(d);
    struct dirent *e;
    int numbers[1024], count = 0;
    while ((e = readdir(d)) && count < 1024) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd != own) numbers[count++] = fd;
    }
    closedir(d);
    for (int i = 0; i < count; i++)
        for (int j = i + 1; j < count; j++)
            if (numbers[j] < numbers[i]) {
                int t = numbers[i];
                numbers[i] = numbers[j];
                numbers[j] = t;
            }
    for (int i = 0; i < count; i++) {
        char link[64], target[256];
        snprintf(link, sizeof link, "/proc/self/fd/%d", numbers[i]);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        char *bracket = strchr(target, '['); /* pipe:[1234] -> pipe: */
        if (bracket) *bracket = '\0';
        int flags = fcntl(numbers[i], F_GETFD);
        printf("%d %s%s\n", numbers[i], target, flags & FD_CLOEXEC ? " cloexec" : "");
    }
    /* what an exec'd child sees */
    fflush(stdout);
    return system("ls /proc/self/fd | sort -n | tr '\\n' ' '; echo") == 0 ? 0 : 6;
}

int main(int argc, char **argv) {
    if (argc < 2) return 2;
    setvbuf(stdout, NULL, _IOFBF, 4096); /* as when writing to a pipe, whatever stdout is */
    const char *mode = argv[1];
    if (!strcmp(mode, "pthread_exit")) return pthread_exit_from_main();
    if (!strcmp(mode, "fork_from_thread")) return fork_from_thread();
    if (!strcmp(mode, "term_after_pthread_exit")) return term_after_pthread_exit();
    if (!strcmp(mode, "closefrom")) return closefrom_zero();
    if (!strcmp(mode, "dispositions")) return dispositions();
    if (!strcmp(mode, "usr2_default")) return usr2_default();
    if (!strcmp(mode, "descriptors")) return list_descriptors(argv);
    return 2;
}
