// util/install_paths_test.cc
#include "util/install_paths.h"

#include <catch2/catch.hpp>

TEST_CASE("doc_dir_for_exe follows the prefix of the binary", "[install_paths]")
{
  CHECK(util::doc_dir_for_exe("/usr/bin/webseed-agent") == "/usr/share/doc/webseed-agent/");
  CHECK(util::doc_dir_for_exe("/usr/local/bin/webseed-collector") ==
        "/usr/local/share/doc/webseed-agent/");
  CHECK(util::doc_dir_for_exe("/opt/wsa/bin/webseed-agent") == "/opt/wsa/share/doc/webseed-agent/");
  CHECK(util::doc_dir_for_exe("/bin/webseed-agent") == "/share/doc/webseed-agent/");
  CHECK(util::doc_dir_for_exe("/work/build/webseed-agent").empty());
  CHECK(util::doc_dir_for_exe("build/bin/webseed-agent").empty());
  CHECK(util::doc_dir_for_exe("").empty());
  CHECK(util::doc_dir_for_exe("/usr/bin/webseed-collector", "webseed-collector") ==
        "/usr/share/doc/webseed-collector/");
}
