// Heap accounting for the attack suite: this executable replaces the global operator new and
// delete (alloc_meter.cpp) to count the bytes live through them, so a scenario can show that a
// flood from the server (a 1 MB line, 10,000 reply lines) costs the client bounded memory.
#pragma once

#include <cstddef>

namespace smtpn::hostile {

// Bytes currently allocated through operator new, in the whole process.
std::size_t heap_live();
// The most heap_live() has been since the last reset_heap_peak().
std::size_t heap_peak();
void reset_heap_peak();

}  // namespace smtpn::hostile
