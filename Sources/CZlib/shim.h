// zlib (Debian zlib1g-dev): gzip for pprof profiles.
#include <zlib.h>
