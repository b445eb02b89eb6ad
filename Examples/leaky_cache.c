// leaky_cache: a toy request handler with two kinds of memory use side by side.
//
//  - Healthy churn: every request gets a buffer and a rendered response; a small ring of requests is
//    "in flight" at any moment and is freed when its slot is reused, so that memory stays flat.
//  - A leak: responses are cached under a key that contains the request id, so the cache never hits
//    and never evicts. It grows by the same amount every round.
//
// It asks the tracker for a snapshot after each round through heapsnap_snapshot(), looked up with
// dlsym so that the program runs (without snapshots) when it is not traced.
//
//   cc -g -o leaky_cache leaky_cache.c -ldl
//   heapsnap run -- ./leaky_cache 3
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IN_FLIGHT 32
#define BUCKETS 1024

struct cache_entry {
    char *key;
    char *body;
    size_t length;
    struct cache_entry *next;
};

struct request {
    int id;
    char *buffer;
    char *response;
};

static struct cache_entry *cache[BUCKETS];
static size_t cache_entries;
static struct request in_flight[IN_FLIGHT];

static unsigned hash(const char *text)
{
    unsigned value = 2166136261u;
    for (; *text; text++)
        value = (value ^ (unsigned char)*text) * 16777619u;
    return value;
}

static const char *cache_get(const char *key, size_t *length)
{
    for (struct cache_entry *entry = cache[hash(key) % BUCKETS]; entry; entry = entry->next) {
        if (strcmp(entry->key, key) == 0) {
            *length = entry->length;
            return entry->body;
        }
    }
    return NULL;
}

// The bug: nothing ever removes an entry, and keys never repeat.
static void cache_put(const char *key, const char *body, size_t length)
{
    struct cache_entry *entry = malloc(sizeof *entry);
    entry->key = strdup(key);
    entry->body = malloc(length);
    memcpy(entry->body, body, length);
    entry->length = length;
    unsigned bucket = hash(key) % BUCKETS;
    entry->next = cache[bucket];
    cache[bucket] = entry;
    cache_entries++;
}

static char *render_page(const char *path, int id, size_t *length)
{
    size_t size = 512 + (size_t)(id % 4) * 256;
    char *page = malloc(size);
    int written = snprintf(page, size, "<html><body>%s, request %d</body></html>", path, id);
    memset(page + written, ' ', size - (size_t)written);
    *length = size;
    return page;
}

static void finish_request(struct request *request)
{
    free(request->buffer);
    free(request->response);
    request->buffer = NULL;
    request->response = NULL;
}

static void handle_request(int id)
{
    struct request *request = &in_flight[id % IN_FLIGHT];
    finish_request(request);
    request->id = id;
    request->buffer = malloc(4096);
    snprintf(request->buffer, 4096, "GET /items/%d HTTP/1.1", id % 100);

    char key[64];
    snprintf(key, sizeof key, "/items/%d?request=%d", id % 100, id);
    size_t length = 0;
    const char *cached = cache_get(key, &length);
    char *response = render_page(request->buffer + 4, id, &length);
    if (cached == NULL)
        cache_put(key, response, length);
    request->response = response;
}

int main(int argc, char **argv)
{
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    int requests_per_round = argc > 2 ? atoi(argv[2]) : 2000;
    int (*snapshot)(const char *) = (int (*)(const char *))dlsym(RTLD_DEFAULT, "heapsnap_snapshot");
    if (snapshot == NULL)
        fprintf(stderr, "leaky_cache: not running under heapsnap, no snapshots\n");

    // A connection pool set up once: big, but it never grows.
    void *pool = calloc(64, 1024);

    int id = 0;
    for (int round = 1; round <= rounds; round++) {
        for (int i = 0; i < requests_per_round; i++)
            handle_request(id++);
        if (snapshot != NULL && snapshot(NULL) != 0)
            perror("leaky_cache: heapsnap_snapshot");
    }
    printf("served %d requests in %d rounds; the cache holds %zu entries\n", id, rounds, cache_entries);
    for (int i = 0; i < IN_FLIGHT; i++)
        finish_request(&in_flight[i]);
    free(pool);
    return 0;
}
