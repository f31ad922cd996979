// Deadline: an absolute point on the steady clock that every wait is bounded by.
#pragma once

#include <algorithm>
#include <chrono>

namespace smtpn::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline after(std::chrono::milliseconds ms) { return Deadline(Clock::now() + ms); }
  static Deadline after_seconds(double seconds) {
    return after(std::chrono::milliseconds(static_cast<long long>(seconds * 1000.0)));
  }

  bool expired() const { return Clock::now() >= at_; }
  // Milliseconds left, clamped to [0, cap] so a poll can wake to check for interrupts.
  int poll_timeout_ms(int cap) const {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(at_ - Clock::now()).count();
    return static_cast<int>(std::clamp<long long>(left, 0, cap));
  }

 private:
  explicit Deadline(Clock::time_point at) : at_(at) {}
  Clock::time_point at_;
};

// Milliseconds elapsed on the steady clock since START (for reported timings, not waits).
inline double milliseconds_since(Deadline::Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Deadline::Clock::now() - start).count();
}

}  // namespace smtpn::net
