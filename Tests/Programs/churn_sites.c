// Churn test program: known allocation calls and temporary allocations (freed before the thread
// allocates again) per line, then one API snapshot.
//   scratch:      1000 x malloc(64) freed at once                 -> 1000 calls, 1000 temporary
//   grow_start:   1 x malloc(16), grown by realloc at once         -> 1 call, 1 temporary
//   grow_step:    10 x realloc doubling to 16 KiB, last one kept   -> 10 calls, 9 temporary, 16384 B live
//   pair_first:   200 x malloc(32), freed after pair_second's      -> 200 calls, 0 temporary
//   pair_second:  200 x malloc(48), freed right after its malloc   -> 200 calls, 200 temporary
//   kept:         50 x malloc(100), kept                           -> 50 calls, 0 temporary, 5000 B live
//   late:         1 x malloc(24), freed after kept's allocations   -> 1 call, 0 temporary
//   worker:       100 x malloc(40) in a second thread, each freed after the main thread allocated
//                 (main_between) but before the worker allocated again -> 100 calls, 100 temporary:
//                 per thread, as memray counts (heaptrack's process-wide rule would count none)
//   main_between: 100 x malloc(56) in the main thread, kept until after kept's -> 100 calls, 0 temporary
#define _GNU_SOURCE
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void *kept[50];

static void scratch(void)
{
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(64); // @site:scratch
        p[0] = (char)i;
        free(p);
    }
}

static char *grow(void)
{
    char *p = malloc(16); // @site:grow_start
    for (int i = 1; i <= 10; i++)
        p = realloc(p, (size_t)16 << i); // @site:grow_step
    memset(p, 1, 16384);
    return p;
}

static void pairs(void)
{
    for (int i = 0; i < 200; i++) {
        char *first = malloc(32); // @site:pair_first
        char *second = malloc(48); // @site:pair_second
        first[0] = second[0] = 1;
        free(second);
        free(first);
    }
}

/* Strict turns between the worker and the main thread. */
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn; /* 0: worker allocates, 1: main allocates, 2: worker frees */
static void *between[100];

static void wait_turn(int wanted)
{
    pthread_mutex_lock(&turn_lock);
    while (turn != wanted)
        pthread_cond_wait(&turn_changed, &turn_lock);
    pthread_mutex_unlock(&turn_lock);
}

static void give_turn(int next)
{
    pthread_mutex_lock(&turn_lock);
    turn = next;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&turn_lock);
}

static void *worker(void *unused)
{
    (void)unused;
    for (int i = 0; i < 100; i++) {
        wait_turn(0);
        char *block = malloc(40); // @site:worker
        block[0] = 1;
        give_turn(1);
        wait_turn(2);
        free(block);
        give_turn(0);
    }
    return NULL;
}

static void threads(void)
{
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) != 0)
        exit(101);
    for (int i = 0; i < 100; i++) {
        wait_turn(1);
        between[i] = malloc(56); // @site:main_between
        give_turn(2);
    }
    pthread_join(thread, NULL);
}

int main(void)
{
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    char *late = malloc(24); // @site:late
    scratch();
    char *grown = grow();
    pairs();
    threads();
    for (int i = 0; i < 50; i++)
        kept[i] = malloc(100); // @site:kept
    free(late);
    for (int i = 0; i < 100; i++)
        free(between[i]);
    if (snapshot != NULL && snapshot(NULL) != 0)
        return 100;
    free(grown);
    return 0;
}
