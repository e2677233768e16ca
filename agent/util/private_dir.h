// util/private_dir.h: refusing a directory that others could write into (a spool or state
// directory whose files the program trusts). Knows nothing of the agent.
#pragma once

#include <expected>
#include <string>

namespace util {

// Error when `dir` (followed: the caller trusts the path) is writable by its group or by
// others: "DIR: writable by group or others (mode 0775); refusing to use it: chmod go-w DIR".
// Fine when it does not exist (the caller creates it) or is private enough.
std::expected<void, std::string> refuse_shared_dir(const std::string& dir);

} // namespace util
