// Emacs's heap made ready for the first large message of a session. A message buffer Emacs
// allocates just before a send lands in memory fresh from the kernel: its pages are faulted
// in as the text is written, and the first write(2) of them, when Emacs hands the message to
// the module, costs as much again (bench_first_write: ~19 ms per 10 MB on a virtual machine
// with shadow paging, 1.5 ms the second time). Later sends reuse memory freed by earlier
// ones and pay neither. prepare_heap arranges that reuse before the first send.
#pragma once

#include <cstddef>

namespace smtpn {

// On Emacs's own thread, with glibc: frees one block a little larger than SIZE from a
// mapping of its own, after which glibc serves blocks of that size from its heap (as it
// does once Emacs has freed its first large buffer); then allocates a SIZE block from the
// heap, which a thread of its own writes once and hands to the kernel once before freeing
// it, so that the next block of up to SIZE Emacs allocates reuses those pages. Elsewhere,
// or for SIZE 0 or above glibc's 32 MiB limit on that adjustment, does nothing.
void prepare_heap(std::size_t size);

}  // namespace smtpn
