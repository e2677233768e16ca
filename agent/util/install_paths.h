// util/install_paths.h: where the installed documentation is, from where the running binary is
// (so --help names the right directory whatever PREFIX `make install` or the package used).
#pragma once

#include <string>

namespace util {

// PREFIX/share/doc/webseed-agent/ when `exe` is PREFIX/bin/NAME, else "" (e.g. build/NAME).
// Pure: looks at the path only.
std::string doc_dir_for_exe(const std::string& exe);

// doc_dir_for_exe(/proc/self/exe) if that directory exists, else
// "/usr/share/doc/webseed-agent/" (the Debian package's). Never fails.
std::string installed_doc_dir();

} // namespace util
