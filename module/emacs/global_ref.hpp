// GlobalRef: the owner of one Emacs global reference, freed when the owner dies. A reference
// kept across module calls (a background send's callback) is rebound to the env of the call
// that is running when it is used or dropped: an env is only valid during its own call.
#pragma once

#include <utility>

#include "emacs/env.hpp"

namespace smtpn::emacs {

class GlobalRef {
 public:
  GlobalRef() = default;
  GlobalRef(Env& env, emacs_value v) : env_(&env), ref_(env.make_global_ref(v)) {}
  GlobalRef(GlobalRef&& other) noexcept
      : env_(other.env_), ref_(std::exchange(other.ref_, nullptr)) {}
  GlobalRef& operator=(GlobalRef&& other) noexcept {
    if (this != &other) {
      reset();
      env_ = other.env_;
      ref_ = std::exchange(other.ref_, nullptr);
    }
    return *this;
  }
  GlobalRef(const GlobalRef&) = delete;
  GlobalRef& operator=(const GlobalRef&) = delete;
  ~GlobalRef() { reset(); }

  void rebind(Env& env) { env_ = &env; }
  emacs_value get() const { return ref_; }
  explicit operator bool() const { return ref_ != nullptr; }

  void reset() noexcept {
    if (!ref_) return;
    try {
      env_->free_global_ref(ref_);
    } catch (const PendingExit&) {
      // free_global_ref signals nothing in practice; a pending exit is Emacs's to raise.
    }
    ref_ = nullptr;
  }

 private:
  Env* env_ = nullptr;
  emacs_value ref_ = nullptr;
};

}  // namespace smtpn::emacs
