// A deliberate leak for the leak check's self-test (test-lisp/run-leak-check): compiled only
// with SMTPN_LEAK_PROBE, which CMake sets in sanitizer builds alone, so no shipped module can
// leak through it. It proves that a leak made by the module is found and attributed to it.
#include <openssl/evp.h>

#include <new>
#include <thread>

#include "emacs/leak_probe.hpp"

namespace smtpn::emacs {
namespace {

// The sizes the self-test looks for in the LeakSanitizer report.
constexpr std::size_t kProbeBlockSize = 4242;

// One block from the module's own operator new, and one OpenSSL object whose allocation
// happens inside libcrypto; neither pointer is kept anywhere.
[[gnu::noinline]] void leak_module_block() {
  char* block = new char[kProbeBlockSize];
  // Keeps the allocation from being optimised away.
  asm volatile("" : : "r"(block) : "memory");
}

[[gnu::noinline]] void leak_openssl_object() {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (ctx == nullptr) throw std::bad_alloc();
  asm volatile("" : : "r"(ctx) : "memory");
}

}  // namespace

emacs_value lisp_leak_probe(Env& env, Args) {
  // On a thread that then ends: a stale copy of the pointers on the main thread's stack
  // could make LeakSanitizer think the blocks are still reachable.
  std::thread([] {
    leak_module_block();
    leak_openssl_object();
  }).join();
  return env.nil();
}

}  // namespace smtpn::emacs
