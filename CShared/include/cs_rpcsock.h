// cs_rpcsock.h - the sockets and FIFOs of the management interfaces (ctl's binrpc,
// jsonrpcs): unix stream and datagram sockets, UDP and TCP sockets on a numeric address,
// named pipes, and datagram replies to whoever sent a request.
//
// Why this shim exists: `struct sockaddr_un` and `sockaddr_storage` round trips are
// awkward in Swift, and these calls are made once at startup or once per RPC, never on a
// SIP path. Every descriptor is non-blocking and close-on-exec.
#ifndef CS_RPCSOCK_H
#define CS_RPCSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/// A peer's address as the kernel gave it (any family, unix included).
typedef struct cs_any_addr {
    uint8_t storage[128];
    uint32_t length;
} cs_any_addr;

/// Binds a unix socket at `path` (`stream` 1: SOCK_STREAM and listening, 0: SOCK_DGRAM),
/// replacing a stale socket file (never another kind of file), with `mode` permissions.
/// Returns the descriptor, or -1 with errno set (ENAMETOOLONG, EEXIST for a non-socket).
int cs_unix_bind(const char *path, int stream, unsigned mode);
/// Binds a UDP (`stream` 0) or listening TCP (`stream` 1) socket on a numeric IPv4 or IPv6
/// address. Returns the descriptor, or -1 with errno set.
int cs_inet_bind(const char *numeric_host, int port, int stream);
/// Creates (or keeps) a FIFO at `path` with `mode` and opens it for reading without ever
/// seeing end-of-file (O_RDWR). Returns the descriptor, or -1 with errno set.
int cs_fifo_open_server(const char *path, unsigned mode);
/// Opens a client's reply FIFO for writing without waiting for a reader: -1 with errno
/// (ENXIO when nobody reads it) otherwise.
int cs_fifo_open_reply(const char *path);
/// recvfrom into `buffer`, the sender in `from`. Bytes, or -1 with errno (EAGAIN too).
ssize_t cs_dgram_receive(int fd, void *buffer, size_t size, cs_any_addr *from);
/// sendto `to` (an address cs_dgram_receive filled), without SIGPIPE. Bytes or -1.
ssize_t cs_dgram_send(int fd, const void *bytes, size_t size, const cs_any_addr *to);
/// send on a connected stream without SIGPIPE. Bytes or -1 with errno (EAGAIN too).
ssize_t cs_stream_send(int fd, const void *bytes, size_t size);

#ifdef __cplusplus
}
#endif
#endif
