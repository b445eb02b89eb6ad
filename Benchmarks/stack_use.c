/* How much stack one malloc needs: a thread runs on a painted stack of our own, calls malloc and free
 * from a shallow frame, and reports how deep below that frame the paint was overwritten. Run it with
 * and without LD_PRELOAD=libheapsnap.so; the difference is the tracker's extra stack per malloc.
 * usage: stack_use [size]   (prints "<bytes used below the caller's frame>") */
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#define STACK_SIZE (1 << 20)
#define PAINT 0xA5

static unsigned char *stack;
static size_t request = 64;
static size_t used;

__attribute__((noinline)) static void measure(void) {
    unsigned char *here = __builtin_frame_address(0);
    /* the thread's first malloc sets up its arena and tcache, and the tracker's unwinder caches:
     * warm up, repaint what they touched, then measure a steady-state malloc and free */
    void *warm = malloc(request);
    __asm__ volatile("" ::"r"(warm) : "memory");
    free(warm);
    unsigned char *sp;
    __asm__ volatile("mov %%rsp, %0" : "=r"(sp));
    for (volatile unsigned char *b = stack; b < sp - 128; b++) *b = PAINT; /* no call: our own frame stays */
    void *p = malloc(request);
    __asm__ volatile("" ::"r"(p) : "memory"); /* or the compiler drops the pair */
    free(p);
    size_t lowest = 0;
    while (lowest < (size_t)(here - stack) && stack[lowest] == PAINT) lowest++;
    used = (size_t)(here - stack) - lowest;
}

static void *run(void *unused) {
    (void)unused;
    measure();
    return NULL;
}

int main(int argc, char **argv) {
    if (argc > 1) request = (size_t)atol(argv[1]);
    free(malloc(1)); /* the tracker's first-use set-up happens on the main thread */
    stack = mmap(NULL, STACK_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    memset(stack, PAINT, STACK_SIZE);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstack(&attr, stack, STACK_SIZE);
    pthread_t t;
    pthread_create(&t, &attr, run, NULL);
    pthread_join(t, NULL);
    printf("%zu\n", used);
    return 0;
}
