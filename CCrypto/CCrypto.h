// libcrypto (Debian libssl-dev) for the auth module: the digest hashes (MD5, SHA-256)
// and the HMAC that signs Respite's nonces. OpenSSL 3 looks an algorithm up by name on
// every one-shot call (EVP_Digest, HMAC), which costs more than hashing a short digest
// string; the functions below fetch each algorithm once per process and reuse one
// context. Server processes are single-threaded, so the statics are never shared.
#pragma once
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <string.h>

/// The digest of `data` into `out` (room for EVP_MAX_MD_SIZE): SHA-256 when `sha256`,
/// else MD5. Returns the digest's length, 0 on failure.
static inline int rc_digest(int sha256, const void *data, size_t length, unsigned char *out) {
    static EVP_MD *md5, *sha;
    static EVP_MD_CTX *context;
    EVP_MD **md = sha256 ? &sha : &md5;
    if (!*md) *md = EVP_MD_fetch(NULL, sha256 ? "SHA256" : "MD5", NULL);
    if (!context) context = EVP_MD_CTX_new();
    unsigned int n = 0;
    if (!*md || !context) return 0;
    if (EVP_DigestInit_ex(context, *md, NULL) != 1 || EVP_DigestUpdate(context, data, length) != 1
        || EVP_DigestFinal_ex(context, out, &n) != 1)
        return 0;
    return (int)n;
}

/// HMAC-SHA-256 (RFC 2104) of `data` under `key` into `out` (32 bytes). Returns 1, or 0
/// on failure.
static inline int rc_hmac_sha256(const unsigned char *key, size_t key_length, const unsigned char *data,
                                 size_t length, unsigned char *out) {
    enum { block = 64 };
    unsigned char k[block] = {0}, pad[block + 32], inner[EVP_MAX_MD_SIZE];
    if (key_length > block) {
        if (rc_digest(1, key, key_length, k) != 32) return 0;
    } else {
        memcpy(k, key, key_length);
    }
    unsigned char *message = length <= 4096 ? (unsigned char[4096 + block]){0} : NULL;
    if (!message) return 0;
    for (int i = 0; i < block; i++) message[i] = k[i] ^ 0x36;
    memcpy(message + block, data, length);
    if (rc_digest(1, message, block + length, inner) != 32) return 0;
    for (int i = 0; i < block; i++) pad[i] = k[i] ^ 0x5c;
    memcpy(pad + block, inner, 32);
    return rc_digest(1, pad, sizeof pad, out) == 32;
}
