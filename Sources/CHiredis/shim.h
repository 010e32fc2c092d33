#ifndef BEARER_CHIREDIS_H
#define BEARER_CHIREDIS_H
// The protocol half of hiredis only: command formatting and the reply reader. bearer-proxy
// carries the bytes itself (its event loops, its resolver, its OpenSSL), see BearerRedis.
#include <hiredis/hiredis.h>
#include <hiredis/read.h>
#endif
