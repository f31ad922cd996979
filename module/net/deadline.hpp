// Deadline: an absolute point on the steady clock that every wait is bounded by.
#pragma once

#include <algorithm>
#include <chrono>

namespace smtpn::net {

class Deadline {
 public:
  using Clock = std::chrono::steady_clock;

  static Deadline after(std::chrono::milliseconds ms) { return Deadline(Clock::now() + ms); }
  // Saturating: NaN or a negative count is now, anything past a year a year, so the
  // double-to-integer conversion is always defined.
  static Deadline after_seconds(double seconds) {
    constexpr double kYearMs = 365.0 * 86400 * 1000;
    const double ms = seconds * 1000.0;
    const double clamped = ms > 0 ? std::min(ms, kYearMs) : 0.0;  // NaN > 0 is false
    return after(std::chrono::milliseconds(static_cast<long long>(clamped)));
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
