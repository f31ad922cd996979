// The replaced global operator new/delete behind alloc_meter.hpp. Sizes come from
// malloc_usable_size, so no header is stored. Every form is replaced, not only the two the
// others default to: under ASan the runtime supplies the others, and would free what we
// malloc'd with its own operator (alloc-dealloc mismatch). The aligned forms stay theirs.
#include "alloc_meter.hpp"

#include <malloc.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

std::atomic<std::size_t> live{0};
std::atomic<std::size_t> peak{0};

void note_allocated(std::size_t bytes) {
  const std::size_t now = live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  std::size_t seen = peak.load(std::memory_order_relaxed);
  while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

void* allocate(std::size_t size) noexcept {
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p != nullptr) note_allocated(malloc_usable_size(p));
  return p;
}

std::atomic<const std::vector<std::string>*> scan_needles{nullptr};
std::atomic<int> scan_hit{-1};

void scan_freed(const void* p, std::size_t size) noexcept {
  const auto* needles = scan_needles.load(std::memory_order_acquire);
  if (needles == nullptr || scan_hit.load(std::memory_order_relaxed) >= 0) return;
  for (std::size_t i = 0; i < needles->size(); ++i) {
    const std::string& n = (*needles)[i];
    if (!n.empty() && memmem(p, size, n.data(), n.size()) != nullptr) {
      scan_hit.store(static_cast<int>(i), std::memory_order_relaxed);
      return;
    }
  }
}

void release(void* p) noexcept {
  if (p == nullptr) return;
  const std::size_t size = malloc_usable_size(p);
  scan_freed(p, size);
  live.fetch_sub(size, std::memory_order_relaxed);
  std::free(p);
}

void* allocate_or_throw(std::size_t size) {
  void* p = allocate(size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

}  // namespace

void* operator new(std::size_t size) { return allocate_or_throw(size); }
void* operator new[](std::size_t size) { return allocate_or_throw(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return allocate(size); }
void operator delete(void* p) noexcept { release(p); }
void operator delete[](void* p) noexcept { release(p); }
void operator delete(void* p, std::size_t) noexcept { release(p); }
void operator delete[](void* p, std::size_t) noexcept { release(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { release(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { release(p); }

namespace smtpn::hostile {

std::size_t heap_live() { return live.load(std::memory_order_relaxed); }
std::size_t heap_peak() { return peak.load(std::memory_order_relaxed); }
void arm_free_scan(const std::vector<std::string>* needles) {
  scan_hit.store(-1);
  scan_needles.store(needles, std::memory_order_release);
}
int disarm_free_scan() {
  scan_needles.store(nullptr, std::memory_order_release);
  return scan_hit.load();
}
void reset_heap_peak() { peak.store(live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

}  // namespace smtpn::hostile
