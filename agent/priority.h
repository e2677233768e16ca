// priority.h: running gently beside a production web server. Lowers this process's CPU
// priority (nice) and I/O priority (ioprio_set: the idle class gets disk time only when no
// one else wants it). Only ever lowers: an already nicer process stays as nice as it is.
//
// Call it before any thread is started: threads inherit both priorities when created.
#pragma once

#include <expected>
#include <string>

namespace agent {

enum class IoClass { idle, best_effort, unchanged };

struct Priority {
  int nice = 10; // 0..19; 0 leaves the CPU priority alone
  IoClass io = IoClass::idle;
};

// Parses "idle", "best-effort", "unchanged".
std::expected<IoClass, std::string> parse_io_class(const std::string& text);
const char* io_class_name(IoClass io);

// Error: one line saying what could not be set and why (errno text).
std::expected<void, std::string> lower_priority(const Priority& priority);

} // namespace agent
