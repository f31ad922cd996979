// Heap accounting for the attack suite: this executable replaces the global operator new and
// delete (alloc_meter.cpp) to count the bytes live through them, so a scenario can show that a
// flood from the server (a 1 MB line, 10,000 reply lines) costs the client bounded memory,
// and can scan what is freed for secrets that should have been wiped first.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace smtpn::hostile {

// Bytes currently allocated through operator new, in the whole process.
std::size_t heap_live();
// The most heap_live() has been since the last reset_heap_peak().
std::size_t heap_peak();
void reset_heap_peak();

// Freed-block scanning: while armed, every block released through operator delete is
// searched (its whole usable size) for each needle before it is freed. NEEDLES must stay
// alive and unchanged until disarm_free_scan(). Returns from disarm: the index of the first
// needle found in a freed block, or -1.
void arm_free_scan(const std::vector<std::string>* needles);
int disarm_free_scan();

}  // namespace smtpn::hostile
