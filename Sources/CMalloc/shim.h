// glibc's malloc statistics and trimming (malloc.h), which Swift's Glibc module does not import:
// the heap trimmer gives freed memory back to the kernel after a burst.
#if defined(__linux__) && __has_include(<malloc.h>)
#include <malloc.h>
#endif
