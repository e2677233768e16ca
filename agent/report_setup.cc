#include "report_setup.h"

#include "error.h"

#include <sys/stat.h>
#include <unistd.h>

namespace agent {

namespace {

void require_readable(const std::string& path, const std::string& key)
{
  if (::access(path.c_str(), R_OK) != 0) {
    throw Fatal(ExitCode::usage, key + ": cannot read " + path);
  }
}

} // namespace

ReportSetup prepare_report(const Config& config, const std::string& state_dir)
{
  ReportSetup s;
  const ReportConfig& r = config.report;
  s.spool_dir = r.spool_dir.empty() ? state_dir + "/spool" : r.spool_dir;
  s.spool_max = r.spool_max;
  s.timeout = std::chrono::seconds(r.timeout_s);
  s.withdrawn_marker = withdrawn_marker_path(state_dir);
  if (r.endpoint.empty()) {
    return s;
  }
  s.enabled = true;
  s.endpoint.url = r.endpoint;
  s.endpoint.allow_http = r.allow_insecure_http;
  auto token = read_token_file(r.token_file);
  if (!token) {
    throw Fatal(ExitCode::usage, "report.token_file: " + token.error());
  }
  s.endpoint.token = std::move(*token);
  if (!r.ca_file.empty()) {
    require_readable(r.ca_file, "report.ca_file");
    s.endpoint.ca_file = r.ca_file;
  }
  if (!r.client_cert.empty()) {
    require_readable(r.client_cert, "report.client_cert");
    require_readable(r.client_key, "report.client_key");
    s.endpoint.client_cert = r.client_cert;
    s.endpoint.client_key = r.client_key;
  }
  return s;
}

std::string withdrawn_marker_path(const std::string& state_dir)
{
  return state_dir + "/withdrawn";
}

bool is_withdrawn(const ReportSetup& setup)
{
  struct stat st {};
  return ::lstat(setup.withdrawn_marker.c_str(), &st) == 0;
}

} // namespace agent
