/* names_alloc's library: one exported function that allocates (named by .dynsym even when stripped)
 * and one that allocates through an internal function (an address once stripped). */
#include <stdlib.h>

static void *kept[12];

__attribute__((noinline)) void names_exported_fill(void) {
    for (int i = 0; i < 8; i++) kept[i] = malloc(5000); // @site:exported
}

__attribute__((noinline)) static void hidden_fill(void) {
    for (int i = 8; i < 12; i++) kept[i] = malloc(7000); // @site:hidden
}

void names_internal_fill(void) {
    hidden_fill();
}
