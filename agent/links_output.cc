#include "links_output.h"

#include "client_families.h"
#include "util/text.h"

#include <iomanip>
#include <string>

namespace agent {

namespace {

constexpr int k_code_width = 18;

// "1 link", "2 links"; `many` is the plural form.
std::string count_of(std::size_t n, std::string_view one, std::string_view many)
{
  return std::to_string(n) + " " + std::string(n == 1 ? one : many);
}

} // namespace

util::Json finding_json(const Finding& finding)
{
  util::Json j = util::Json::object();
  j["code"] = std::string(code_name(finding.code));
  j["severity"] = std::string(severity_name(finding.severity()));
  util::put_bytes(j, "path", finding.path);
  util::put_optional_bytes(j, "target", finding.target);
  j["message"] = util::to_utf8_lossy(finding.message);
  j["hint"] = util::to_utf8_lossy(finding.hint);
  if (!finding.url.empty()) {
    j["url"] = util::to_utf8_lossy(finding.url);
  }
  j["clients"] = client_names(affected_clients(finding));
  if (!finding.pieces.empty()) {
    j["pieces"] = finding.pieces;
  }
  if (!finding.byte_ranges.empty()) {
    j["byte_ranges"] = util::Json::array();
    for (const auto& [begin, end] : finding.byte_ranges) {
      j["byte_ranges"].push_back({begin, end});
    }
  }
  return j;
}

void print_finding_human(std::ostream& out, const Finding& finding, int indent,
                         std::set<std::string>* seen_hints)
{
  const std::string pad(static_cast<std::size_t>(indent), ' ');
  const std::string cont(static_cast<std::size_t>(indent + k_code_width), ' ');
  const std::string_view code = code_name(finding.code);
  out << pad << std::left << std::setw(k_code_width) << code
      << (code.size() >= static_cast<std::size_t>(k_code_width) ? " " : "")
      << util::escape_for_terminal(finding.path) << '\n';
  if (finding.target) {
    out << cont << "-> " << util::escape_for_terminal(*finding.target) << '\n';
  }
  out << cont << util::escape_in_message(finding.message) << '\n';
  if (!finding.url.empty() && finding.message.find(finding.url) == std::string::npos) {
    out << cont << "url: " << util::escape_in_message(finding.url) << '\n';
  }
  if (!finding.hint.empty()) {
    if (seen_hints != nullptr && !seen_hints->insert(finding.hint).second) {
      out << cont << "hint: as above\n";
    } else {
      out << cont << "hint: " << util::escape_in_message(finding.hint) << '\n';
    }
  }
}

void print_links_human(std::ostream& out, const LinkAudit& audit, Verbose verbose)
{
  out << "mirror root:  " << util::escape_for_terminal(audit.root) << '\n'
      << "symlinks dir: " << util::escape_for_terminal(audit.symlinks_dir) << '\n';
  std::set<std::string> seen_hints; // each distinct hint in full once
  for (const Finding& f : audit.tree_findings) {
    out << '\n'
        << std::left << std::setw(9) << (f.severity() == Severity::error ? "ERROR" : "WARNING")
        << "(whole tree)\n";
    print_finding_human(out, f, 2, &seen_hints);
  }
  const auto print_entries = [&](auto&& wanted, std::string_view label) {
    for (const EntryAudit& e : audit.entries) {
      if (!wanted(e)) {
        continue;
      }
      out << '\n'
          << std::left << std::setw(9) << label << util::escape_for_terminal(e.name) << "  ("
          << count_of(e.links, "link", "links") << ")\n";
      for (const Finding& f : e.findings) {
        print_finding_human(out, f, 2, &seen_hints);
      }
    }
  };
  print_entries([](const EntryAudit& e) { return !e.ok(); }, "ERROR");
  print_entries([](const EntryAudit& e) { return e.ok() && !e.findings.empty(); }, "WARNING");
  if (verbose == Verbose::yes) {
    print_entries([](const EntryAudit& e) { return e.findings.empty(); }, "ok");
  }
  const std::size_t errors = audit.count(Severity::error);
  const std::size_t warnings = audit.count(Severity::warning);
  out << '\n'
      << (audit.ok() ? "OK: " : "NOT OK: ") << count_of(audit.entries.size(), "entry", "entries")
      << " (" << audit.entries_ok() << " ok), " << count_of(audit.links, "link", "links") << ", "
      << count_of(errors, "error", "errors") << ", " << count_of(warnings, "warning", "warnings")
      << '\n';
}

util::Json links_json(const LinkAudit& audit)
{
  util::Json j = util::Json::object();
  j["version"] = 1;
  util::put_bytes(j, "root", audit.root);
  util::put_bytes(j, "symlinks_dir", audit.symlinks_dir);
  j["ok"] = audit.ok();
  j["summary"] = {{"entries", audit.entries.size()},
                  {"entries_ok", audit.entries_ok()},
                  {"links", audit.links},
                  {"errors", audit.count(Severity::error)},
                  {"warnings", audit.count(Severity::warning)}};
  j["findings"] = util::Json::array();
  for (const Finding& f : audit.tree_findings) {
    j["findings"].push_back(finding_json(f));
  }
  j["entries"] = util::Json::array();
  for (const EntryAudit& e : audit.entries) {
    util::Json entry = util::Json::object();
    util::put_bytes(entry, "name", e.name);
    entry["ok"] = e.ok();
    entry["links"] = e.links;
    entry["findings"] = util::Json::array();
    for (const Finding& f : e.findings) {
      entry["findings"].push_back(finding_json(f));
    }
    j["entries"].push_back(std::move(entry));
  }
  return j;
}

} // namespace agent
