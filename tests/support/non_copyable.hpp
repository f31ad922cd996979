// The tests' helpers that own something a copy must not share (a socket, a thread, the test
// PKI, a process-wide hook) derive from NonCopyable: no copy, and so no move either.
#pragma once

namespace smtpn::test {

class NonCopyable {
 public:
  NonCopyable(const NonCopyable&) = delete;
  NonCopyable& operator=(const NonCopyable&) = delete;

 protected:
  NonCopyable() = default;
  ~NonCopyable() = default;
};

}  // namespace smtpn::test
