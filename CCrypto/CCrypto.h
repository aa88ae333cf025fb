// libcrypto (Debian libssl-dev) for the auth module: the digest hashes (MD5, SHA-256)
// and the HMAC that signs Respite's nonces. Only one-shot functions are used.
#pragma once
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
