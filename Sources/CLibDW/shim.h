// elfutils: libdwfl maps addresses to modules and DWARF, libdw reads the line tables and inline scopes.
#include <elfutils/libdwfl.h>
#include <elfutils/libdw.h>
#include <dwarf.h>
#include <gelf.h>
