#ifndef BEARER_COPENSSL_SHIMS_H
#define BEARER_COPENSSL_SHIMS_H
#include <openssl/ssl.h>

// Forwarders for OpenSSL macros that Swift cannot import. One per macro, no logic.

// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
int CBearerSSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);

#endif
