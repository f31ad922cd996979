#include "common/byte_buffer.hpp"

#include <sys/mman.h>

#include <array>
#include <cstdint>
#include <mutex>
#include <new>
#include <stdexcept>
#include <utility>

namespace smtpn {
namespace {

#ifdef MADV_POPULATE_WRITE
constexpr int kPopulateWrite = MADV_POPULATE_WRITE;
#else
constexpr int kPopulateWrite = 23;  // Linux 5.14's value; older kernels answer EINVAL
#endif

constexpr std::size_t kHugePage = std::size_t{2} << 20;
// Below this, malloc's recycled heap is as fast and a private mapping would waste memory.
constexpr std::size_t kMapAtLeast = 2 * kHugePage;

// The last large mappings released are kept, already faulted in, for the next large buffers:
// sending a big message again then copies into ready memory. Faulting 25 MB in again could
// stall Emacs for tens of milliseconds when the kernel had to compact memory for the huge
// pages. Two spares at most (an operation such as base64 holds its input and its output at
// once), each of at most this size.
constexpr std::size_t kSpareAtMost = std::size_t{66} << 20;

struct Mapping {
  void* start = nullptr;
  std::size_t size = 0;
};

std::mutex spare_mutex;
std::array<Mapping, 2> spares;  // guarded by spare_mutex

// The smallest spare mapping of at least SIZE bytes, or an empty one.
Mapping take_spare(std::size_t size) {
  const std::lock_guard<std::mutex> lock(spare_mutex);
  Mapping* best = nullptr;
  for (auto& m : spares)
    if (m.start != nullptr && m.size >= size && (best == nullptr || m.size < best->size)) best = &m;
  return best == nullptr ? Mapping{} : std::exchange(*best, Mapping{});
}

// Keeps M in place of the smallest spare when it is larger (and not too large); unmaps what
// is not kept.
void give_back(Mapping m) {
  if (m.size <= kSpareAtMost) {
    const std::lock_guard<std::mutex> lock(spare_mutex);
    Mapping* smallest = &spares[0];
    for (auto& spare : spares)
      if (spare.size < smallest->size) smallest = &spare;
    if (m.size > smallest->size) std::swap(m, *smallest);
  }
  if (m.start != nullptr) munmap(m.start, m.size);
}

char* huge_page_aligned(void* mapping) {
  return reinterpret_cast<char*>((reinterpret_cast<std::uintptr_t>(mapping) + kHugePage - 1) & ~(kHugePage - 1));
}

}  // namespace

ByteBuffer::ByteBuffer(std::size_t capacity) : size_(capacity) {
  if (capacity < kMapAtLeast) {
    data_ = new char[capacity == 0 ? 1 : capacity];
    return;
  }
  // Over-map by one huge page so the buffer can start on a 2 MiB boundary.
  mapping_size_ = capacity + kHugePage;
  // A spare of at least this size held a buffer at least this large from the same aligned
  // start, so everything this one uses is already faulted in.
  if (const Mapping reused = take_spare(mapping_size_); reused.start != nullptr) {
    mapping_ = reused.start;
    mapping_size_ = reused.size;
    data_ = huge_page_aligned(mapping_);
    return;
  }
  mapping_ = mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw std::bad_alloc();
  }
  data_ = huge_page_aligned(mapping_);
  // Advice only: without THP (or on kernels before 5.14) plain faulting still works.
  madvise(data_, capacity, MADV_HUGEPAGE);
  // Fault everything in with one call instead of one trap per page as the copy runs.
  madvise(data_, capacity, kPopulateWrite);
}

ByteBuffer ByteBuffer::mapped(void* start, std::size_t length, std::size_t size,
                              std::shared_ptr<const void> owner) {
  if (size > length) throw std::length_error("ByteBuffer::mapped beyond its mapping");
  ByteBuffer b;
  b.data_ = static_cast<char*>(start);
  b.size_ = size;
  b.mapping_ = start;
  b.mapping_size_ = length;
  b.owner_ = std::move(owner);
  return b;
}

ByteBuffer::~ByteBuffer() { release(); }

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)),
      owner_(std::move(other.owner_)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
    owner_ = std::move(other.owner_);
  }
  return *this;
}

void ByteBuffer::shrink(std::size_t size) {
  if (size > size_) throw std::length_error("ByteBuffer::shrink beyond its size");
  size_ = size;
}

void ByteBuffer::release() noexcept {
  if (owner_ != nullptr) {
    munmap(mapping_, mapping_size_);  // someone else's pages: never a spare
    owner_.reset();
  } else if (mapping_ != nullptr)
    give_back(Mapping{mapping_, mapping_size_});
  else
    delete[] data_;
  data_ = nullptr;
  mapping_ = nullptr;
  size_ = mapping_size_ = 0;
}

}  // namespace smtpn
