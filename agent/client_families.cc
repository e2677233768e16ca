#include "client_families.h"

#include <algorithm>
#include <array>

namespace agent {

namespace {

constexpr ClientSet k_all = ClientSet::all();
constexpr ClientSet k_none = ClientSet::none();
constexpr ClientSet k_transmission{ClientFamily::transmission};
constexpr ClientSet k_pad_askers{ClientFamily::transmission, ClientFamily::aria2};
constexpr ClientSet k_libtorrent{ClientFamily::libtorrent};
using E = ClientEffect;

// One row per code, in the enum's order (checked below).
constexpr std::array k_rows = {
    ClientRow{Code::missing_tree, k_all, E::fails, "every client fetches NAME/PATH under the tree"},
    ClientRow{Code::empty_tree, k_all, E::fails, "every client fetches NAME/PATH under the tree"},
    ClientRow{Code::empty_entry, k_all, E::fails, "the files of the entry are not there"},
    ClientRow{Code::not_symlink, k_none, E::none, "a regular file serves the same bytes"},
    ClientRow{Code::absolute_target, k_all, E::fails, "the web server cannot follow it safely"},
    ClientRow{Code::escapes_root, k_all, E::fails, "the web server does not serve it"},
    ClientRow{Code::dangling, k_all, E::fails, "404 for every client"},
    ClientRow{Code::symlink_loop, k_all, E::fails, "the web server cannot resolve it"},
    ClientRow{Code::not_regular_file, k_all, E::fails, "no file to serve"},
    ClientRow{Code::unreadable, k_all, E::fails, "the web server cannot read it either"},
    ClientRow{Code::torrent_invalid, k_all, E::fails,
              "libtorrent, Transmission and aria2 refuse it too (differential test)"},
    ClientRow{Code::unsafe_path, k_all, E::fails, "libtorrent refuses such paths; others vary"},
    ClientRow{Code::missing_file, k_all, E::fails, "404 for every client"},
    ClientRow{Code::unexpected_file, k_none, E::none, "clients never ask for it"},
    ClientRow{Code::size_mismatch, k_all, E::fails, "pieces fail their hash in every client"},
    ClientRow{Code::hash_mismatch, k_all, E::fails, "pieces fail their hash in every client"},
    ClientRow{Code::http_unreachable, k_all, E::fails, "no answer, for any client"},
    ClientRow{Code::http_status, k_all, E::fails,
              "Transmission counts only 206 as success (webseed.c); libtorrent and aria2 drop "
              "the seed on 4xx/5xx; libtorrent 2.0.8 never asks a web seed again after one 503 "
              "on its single connection (measured), set per finding"},
    ClientRow{Code::http_range_ignored, k_all, E::fails,
              "Transmission needs 206; libtorrent drops a seed on a bad Content-Range "
              "(web_peer_connection.cpp)"},
    ClientRow{Code::http_content_encoding, k_all, E::fails, "clients hash the raw bytes"},
    ClientRow{Code::http_content_mismatch, k_all, E::fails, "pieces fail their hash"},
    ClientRow{Code::http_redirect, k_none, E::slowed,
              "followed by all three for a file of its own; to another file name every client "
              "fails, and libtorrent 2.0.8 does not complete pieces that span files through a "
              "redirect (measured): those errors set their families per finding"},
    ClientRow{Code::http_timeout, k_all, E::fails, "clients time out too"},
    ClientRow{Code::probe_skipped, k_none, E::none, "nothing known: not probed"},
    ClientRow{Code::verify_skipped, k_all, E::fails, "not verified: nothing to vouch for"},
    ClientRow{Code::torrent_noncanonical, k_none, E::none,
              "libtorrent 2.0.8, aria2c 1.36 and Transmission 3.00 accept trailing bytes and "
              "unsorted keys (measured)"},
    ClientRow{Code::torrent_format_unsupported, k_transmission, E::fails,
              "Transmission before 4.0 (Debian 12 has 3.00) cannot open v2 or hybrid torrents "
              "(measured), set per finding"},
    ClientRow{Code::http_throttled, k_transmission, E::slowed,
              "libtorrent honours Retry-After and aria2 retries; Transmission opens up to 4 "
              "connections per seed, ignores Retry-After and pauses 120 s after 4 failures "
              "(webseed.c; measured with nginx limit_conn perip 1)"},
    ClientRow{Code::pad_files_not_served, k_pad_askers, E::fails,
              "aria2c 1.36 and Transmission 3.00 request BEP 47 pad files as NAME/.pad/N and "
              "fail on 404 (measured, tests/integration/test_clients.py); libtorrent never "
              "requests them"},
    ClientRow{Code::torrents_missing, k_all, E::fails, "nothing to serve: the run is not judged"},
    ClientRow{Code::webseed_url_ipv6_literal, k_libtorrent, E::fails,
              "libtorrent 2.0.8 fails a web seed written as an IPv6 literal (http://[::1]:P/) "
              "and works with a host name resolving to the same address (measured, "
              "tests/interop: ipv6-literal); aria2c and Transmission fetch it"},
};

constexpr bool rows_in_enum_order()
{
  for (std::size_t i = 0; i < k_rows.size(); ++i) {
    if (static_cast<std::size_t>(k_rows[i].code) != i) {
      return false;
    }
  }
  return true;
}
static_assert(rows_in_enum_order(), "one row per Code, in the enum's order");

std::string_view display_name(ClientFamily f)
{
  switch (f) {
  case ClientFamily::libtorrent: return "libtorrent";
  case ClientFamily::transmission: return "Transmission";
  case ClientFamily::aria2: return "aria2";
  }
  return "?";
}

} // namespace

const ClientRow& client_row(Code code)
{
  const auto i = static_cast<std::size_t>(code);
  return k_rows.at(i < k_rows.size() ? i : 0);
}

ClientSet affected_clients(const Finding& finding)
{
  return finding.clients_override.value_or(client_row(finding.code).clients);
}

std::map<ClientFamily, bool> client_usability(const std::vector<Finding>& findings)
{
  std::map<ClientFamily, bool> usable;
  for (const ClientFamily f : k_client_families) {
    usable[f] = true;
  }
  for (const Finding& finding : findings) {
    const bool fails = finding.severity() == Severity::error ||
                       client_row(finding.code).effect == ClientEffect::fails;
    if (!fails) {
      continue;
    }
    const ClientSet affected = affected_clients(finding);
    for (const ClientFamily f : k_client_families) {
      if (affected.contains(f)) {
        usable[f] = false;
      }
    }
  }
  return usable;
}

std::vector<std::string> client_names(ClientSet clients)
{
  std::vector<std::string> out;
  for (const ClientFamily f : k_client_families) {
    if (clients.contains(f)) {
      out.emplace_back(family_name(f));
    }
  }
  return out;
}

std::map<std::string, bool> client_usability_names(const std::vector<Finding>& findings)
{
  std::map<std::string, bool> out;
  for (const auto& [family, usable] : client_usability(findings)) {
    out[std::string(family_name(family))] = usable;
  }
  return out;
}

std::string clients_text(ClientSet clients)
{
  std::vector<std::string_view> names;
  for (const ClientFamily f : k_client_families) {
    if (clients.contains(f)) {
      names.push_back(display_name(f));
    }
  }
  std::string out;
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (i > 0) {
      out += i + 1 == names.size() ? " and " : ", ";
    }
    out += names[i];
  }
  return out.empty() ? "no client" : out;
}

std::optional<Finding> format_finding(const Torrent& torrent, const std::string& path)
{
  if (!torrent.has_v2) {
    return std::nullopt;
  }
  const std::string kind = torrent.has_v1 ? "a hybrid (v1+v2)" : "a v2-only";
  Finding f(Code::torrent_format_unsupported, path, std::nullopt,
            "this is " + kind +
                " torrent: Transmission before 4.0 (Debian 12 ships 3.00) cannot open it, from "
                "any mirror",
            "nothing to fix on the mirror; the central team can publish a v1 torrent beside it "
            "for Transmission 3 users");
  f.clients_override = ClientSet{ClientFamily::transmission};
  return f;
}

} // namespace agent
