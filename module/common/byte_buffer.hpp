// ByteBuffer: a message's bytes, copied once out of Lisp and never zero-filled first.
// A large buffer is mapped on its own, asking for transparent huge pages: on a virtual
// machine each first touch of a 4 KiB page can cost microseconds, and filling 25 MB page by
// page blocked Emacs for ~100 ms; 2 MiB pages faulted in by one madvise take ~5-15 ms, or
// more when the kernel must compact memory first. So the last two large mappings released
// are kept (up to 64 MiB each) and serve the next large buffers that fit, already faulted in.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

namespace smtpn {

class ByteBuffer {
 public:
  ByteBuffer() = default;
  explicit ByteBuffer(std::size_t capacity);  // uninitialised bytes; size() == capacity
  // The first SIZE bytes of a read-only mapping of LENGTH bytes at START, unmapped on release;
  // OWNER (what the mapping shows) is held until then. Its data() must not be written.
  static ByteBuffer mapped(void* start, std::size_t length, std::size_t size,
                           std::shared_ptr<const void> owner);
  ~ByteBuffer();
  ByteBuffer(ByteBuffer&& other) noexcept;
  ByteBuffer& operator=(ByteBuffer&& other) noexcept;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;

  char* data() { return data_; }
  std::size_t size() const { return size_; }
  void shrink(std::size_t size);  // forget the tail; SIZE must not exceed size()
  std::string_view view() const { return {data_, size_}; }
  operator std::string_view() const { return view(); }  // NOLINT: a buffer is its bytes

 private:
  void release() noexcept;
  char* data_ = nullptr;
  std::size_t size_ = 0;
  void* mapping_ = nullptr;  // non-null when mapped rather than allocated
  std::size_t mapping_size_ = 0;
  std::shared_ptr<const void> owner_;  // set for a mapping made by mapped()
};

}  // namespace smtpn
