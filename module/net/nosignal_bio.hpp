// An OpenSSL BIO over a connected socket that writes with send(MSG_NOSIGNAL). OpenSSL's own
// socket BIO writes with write(2): a TLS write to a peer that has gone raises SIGPIPE, whose
// default action ends the whole process (Emacs, or any host that has not ignored it).
#pragma once

#include <openssl/bio.h>

namespace smtpn::net {

// A BIO reading and writing FD (not owned: closing it stays with the caller), or nullptr.
BIO* new_nosignal_socket_bio(int fd);

}  // namespace smtpn::net
