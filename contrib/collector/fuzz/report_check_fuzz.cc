// report_check_fuzz.cc: libFuzzer target for the collector's report intake (report_check.h):
// the bytes a mirror POSTs. Besides "no crash, no UB, no unbounded recursion", it checks what
// the header promises: an accepted report has a report_id of the UUID shape, a kind of status
// or withdraw, and came with the registered base_url; a refusal is one non-empty line.
// Built by tests/fuzz/run-fuzz (clang, -fsanitize=fuzzer,address,undefined).
#include "report_check.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

[[noreturn]] void fail(const char* what)
{
  std::fprintf(stderr, "report_check_fuzz: broken promise: %s\n", what);
  std::abort();
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
  if (size > (1u << 20)) {
    return -1;
  }
  const std::string body(reinterpret_cast<const char*>(data), size);
  collector::MirrorRow mirror;
  mirror.name = "m";
  mirror.base_url = "https://m.example/";
  const auto r = collector::check_report(body, mirror, "");
  if (r) {
    if (r->report_id.size() != 36 || (r->kind != "status" && r->kind != "withdraw")) {
      fail("accepted a report without a UUID report_id or a known kind");
    }
    if (body.find("https://m.example/") == std::string::npos) {
      fail("accepted a report without the registered base_url");
    }
  } else if (r.error().empty() || r.error().find('\n') != std::string::npos) {
    fail("a refusal is not one non-empty line");
  }
  return 0;
}
