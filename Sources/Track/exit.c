/* Exit: the last snapshot, written from the library's destructor. */
#include "internal.h"

__attribute__((destructor)) static void heapsnap_finish(void) {
    if (atomic_load(&hs_state) != 2) return;
    hs_take_snapshot(HS_EXIT, NULL, false);
}
