// Linux epoll, which Swift's Glibc module does not import: the event loops' readiness sets.
#include <sys/epoll.h>
