#include "common/byte_buffer.hpp"

#include <sys/mman.h>

#include <cstdint>
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

}  // namespace

ByteBuffer::ByteBuffer(std::size_t capacity) : size_(capacity) {
  if (capacity < kMapAtLeast) {
    data_ = new char[capacity == 0 ? 1 : capacity];
    return;
  }
  // Over-map by one huge page so the buffer can start on a 2 MiB boundary.
  mapping_size_ = capacity + kHugePage;
  mapping_ = mmap(nullptr, mapping_size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mapping_ == MAP_FAILED) {
    mapping_ = nullptr;
    throw std::bad_alloc();
  }
  const auto start = (reinterpret_cast<std::uintptr_t>(mapping_) + kHugePage - 1) & ~(kHugePage - 1);
  data_ = reinterpret_cast<char*>(start);
  // Advice only: without THP (or on kernels before 5.14) plain faulting still works.
  madvise(data_, capacity, MADV_HUGEPAGE);
  // Fault everything in with one call instead of one trap per page as the copy runs.
  madvise(data_, capacity, kPopulateWrite);
}

ByteBuffer::~ByteBuffer() { release(); }

ByteBuffer::ByteBuffer(ByteBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      mapping_(std::exchange(other.mapping_, nullptr)),
      mapping_size_(std::exchange(other.mapping_size_, 0)) {}

ByteBuffer& ByteBuffer::operator=(ByteBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    mapping_ = std::exchange(other.mapping_, nullptr);
    mapping_size_ = std::exchange(other.mapping_size_, 0);
  }
  return *this;
}

void ByteBuffer::shrink(std::size_t size) {
  if (size > size_) throw std::length_error("ByteBuffer::shrink beyond its size");
  size_ = size;
}

void ByteBuffer::release() noexcept {
  if (mapping_ != nullptr)
    munmap(mapping_, mapping_size_);
  else
    delete[] data_;
  data_ = nullptr;
  mapping_ = nullptr;
  size_ = mapping_size_ = 0;
}

}  // namespace smtpn
