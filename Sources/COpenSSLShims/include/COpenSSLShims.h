#ifndef BEARER_COPENSSL_SHIMS_H
#define BEARER_COPENSSL_SHIMS_H
#include <stdint.h>
#include <openssl/ssl.h>

// Forwarders for OpenSSL macros that Swift cannot import. One per macro, no logic.
// Each is named CBearer<OriginalName>.

// SSL_CTX_set_min_proto_version is a macro over SSL_CTX_ctrl.
int CBearerSSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version);

// SSL_CTX_set_max_proto_version is a macro over SSL_CTX_ctrl.
int CBearerSSL_CTX_set_max_proto_version(SSL_CTX *ctx, int version);

// SSL_CTX_set_mode is a macro over SSL_CTX_ctrl.
long CBearerSSL_CTX_set_mode(SSL_CTX *ctx, long mode);

// SSL_CTX_set_read_ahead is a macro over SSL_CTX_ctrl.
long CBearerSSL_CTX_set_read_ahead(SSL_CTX *ctx, long yes);
// SSL_CTX_set_session_cache_mode is a macro over SSL_CTX_ctrl.
long CBearerSSL_CTX_set_session_cache_mode(SSL_CTX *ctx, long mode);

// SSL_CTX_add1_chain_cert is a macro over SSL_CTX_ctrl.
int CBearerSSL_CTX_add1_chain_cert(SSL_CTX *ctx, X509 *certificate);

// SSL_set_tlsext_host_name is a macro over SSL_ctrl.
int CBearerSSL_set_tlsext_host_name(SSL *ssl, const char *name);

// SSL_OP_NO_COMPRESSION is SSL_OP_BIT(17), a cast expression Swift does not import.
uint64_t CBearerSSL_OP_NO_COMPRESSION(void);

#endif
