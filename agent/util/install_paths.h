// util/install_paths.h: where the installed documentation is, from where the running binary is
// (so --help names the right directory whatever PREFIX `make install` or the package used).
#pragma once

#include <string>

namespace util {

// PREFIX/share/doc/PACKAGE/ when `exe` is PREFIX/bin/NAME, else "" (e.g. build/NAME).
// PACKAGE is webseed-agent or webseed-collector (each program's documentation directory).
// Pure: looks at the path only.
std::string doc_dir_for_exe(const std::string& exe, const std::string& package = "webseed-agent");

// doc_dir_for_exe(/proc/self/exe, package) if that directory exists, else
// "/usr/share/doc/PACKAGE/" (the Debian package's). Never fails.
std::string installed_doc_dir(const std::string& package = "webseed-agent");

} // namespace util
