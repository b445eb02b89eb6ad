// analysis_cpp_sites.cpp with its own malloc that prints the stacks of the marked allocations.
#define CAPTURE_MALLOC 1
#include "analysis_cpp_sites.cpp"
