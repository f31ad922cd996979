// MessageFile: a message written by Emacs itself (write-region to /proc/self/fd/N) into an
// anonymous memory file (memfd), mapped by the module without a copy. A 10 MB message
// turned into a Lisp string first cost Emacs its allocation (page faults) and a garbage
// collection; write-region copies the buffer text straight into the file. Released files
// are zeroed and kept, their pages written, for the next messages (like ByteBuffer's spares).
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "common/byte_buffer.hpp"

namespace smtpn {

class MessageFile : public std::enable_shared_from_this<MessageFile> {
 public:
  // A file for a message of SIZE bytes: a kept one whose pages cover SIZE when there is one.
  // nullptr where memory files are not available (not Linux, or memfd_create failed).
  static std::shared_ptr<MessageFile> take(std::size_t size);
  // Writes, on a thread of its own, a file of SIZE zero bytes kept for the next message, so
  // that even the first large message is written into ready memory.
  static void warm_up(std::size_t size);

  ~MessageFile();
  MessageFile(const MessageFile&) = delete;
  MessageFile& operator=(const MessageFile&) = delete;

  std::size_t size() const { return size_; }  // the message's size, announced at take()
  std::string path() const;                   // where Emacs writes: /proc/self/fd/N
  // The SIZE bytes written, mapped read-only: the buffer holds this file until released.
  // Throws std::runtime_error when the file is shorter. A kept file was zeroed before it is
  // taken again: bytes not written read as zeros, never as an earlier message.
  ByteBuffer bytes();

 private:
  MessageFile(int fd, std::size_t size, std::size_t reserved) : fd_(fd), size_(size), reserved_(reserved) {}
  int fd_;
  std::size_t size_;
  std::size_t reserved_;  // bytes of pages it had when it was taken
};

}  // namespace smtpn
