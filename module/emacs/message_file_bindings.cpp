#include "emacs/message_file_bindings.hpp"

#include <limits>
#include <memory>
#include <stdexcept>

#include "common/message_file.hpp"
#include "emacs/errors.hpp"

namespace smtpn::emacs {
namespace {

// The handle holds a shared_ptr: a job's mapping may keep the file after Lisp lets go.
void file_finalizer(void* p) noexcept { delete static_cast<std::shared_ptr<MessageFile>*>(p); }

std::shared_ptr<MessageFile>& file_slot(Env& env, emacs_value v) {
  if (!env.satisfies("user-ptrp", v) || env.user_finalizer(v) != file_finalizer)
    env.wrong_type("smtpmail-native-message-file-p", v);
  return *static_cast<std::shared_ptr<MessageFile>*>(env.user_ptr(v));
}

std::shared_ptr<MessageFile> file_arg(Env& env, emacs_value v) {
  auto file = file_slot(env, v);
  if (!file) throw argument_error("the message file was released");
  return file;
}

ByteBuffer mapped_bytes(MessageFile& file) {
  try {
    return file.bytes();
  } catch (const std::runtime_error& e) {
    throw argument_error(e.what());
  }
}

}  // namespace

emacs_value lisp_message_file(Env& env, Args args) {
  if (!env.satisfies("natnump", args[0])) env.wrong_type("natnump", args[0]);
  const auto size = env.to_integer(args[0]);
  if (static_cast<std::uintmax_t>(size) > std::numeric_limits<std::size_t>::max() / 2)
    throw argument_error("message too large");
  auto file = MessageFile::take(static_cast<std::size_t>(size));
  if (!file) return env.nil();
  emacs_value name = env.text(file->path());
  emacs_value handle = env.make_user_ptr(file_finalizer, new std::shared_ptr<MessageFile>(std::move(file)));
  return env.call("cons", {name, handle});
}

emacs_value lisp_message_file_bytes(Env& env, Args args) {
  const auto file = file_arg(env, args[0]);
  const ByteBuffer bytes = mapped_bytes(*file);
  return env.unibyte(bytes.view());
}

emacs_value lisp_message_file_release(Env& env, Args args) {
  // Its pages serve the next message as soon as no job maps them, not when GC finalizes.
  file_slot(env, args[0]).reset();
  return env.nil();
}

std::optional<ByteBuffer> message_file_bytes(Env& env, emacs_value v) {
  if (!env.satisfies("user-ptrp", v) || env.user_finalizer(v) != file_finalizer) return std::nullopt;
  return mapped_bytes(*file_arg(env, v));
}

}  // namespace smtpn::emacs
