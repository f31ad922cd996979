#include "net/nosignal_bio.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <cstdint>

#include "crypto/openssl_ptr.hpp"

namespace smtpn::net {
namespace {

using BioMethodPtr = crypto::OpenSslPtr<BIO_METHOD, BIO_meth_free>;

int fd_of(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK; }

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::send(fd_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && would_block()) BIO_set_retry_write(bio);
  return static_cast<int>(n);
}

int bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t n;
  do {
    n = ::recv(fd_of(bio), data, static_cast<std::size_t>(size), 0);
  } while (n < 0 && errno == EINTR);
  if (n == 0) BIO_set_flags(bio, BIO_FLAGS_IN_EOF);  // what BIO_eof() reports to OpenSSL
  if (n < 0 && would_block()) BIO_set_retry_read(bio);
  return static_cast<int>(n);
}

long bio_ctrl(BIO* bio, int cmd, long, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH: return 1;  // nothing is buffered here
    case BIO_CTRL_EOF: return BIO_test_flags(bio, BIO_FLAGS_IN_EOF) != 0;
    case BIO_C_GET_FD:
      if (ptr) *static_cast<int*>(ptr) = fd_of(bio);
      return fd_of(bio);
    default: return 0;
  }
}

const BIO_METHOD* nosignal_socket_method() {
  static const BioMethodPtr method = [] {
    BioMethodPtr m{BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR,
                                "socket (MSG_NOSIGNAL)")};
    if (m && (BIO_meth_set_write(m.get(), bio_write) != 1 || BIO_meth_set_read(m.get(), bio_read) != 1 ||
              BIO_meth_set_ctrl(m.get(), bio_ctrl) != 1))
      m.reset();
    return m;
  }();
  return method.get();
}

}  // namespace

BIO* new_nosignal_socket_bio(int fd) {
  const BIO_METHOD* method = nosignal_socket_method();
  if (!method) return nullptr;
  BIO* bio = BIO_new(method);
  if (!bio) return nullptr;
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(fd)));
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace smtpn::net
