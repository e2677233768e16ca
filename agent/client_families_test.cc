#include "client_families.h"

#include <catch2/catch.hpp>

using agent::ClientFamily;
using agent::ClientSet;
using agent::Code;
using agent::Finding;

namespace {

Finding finding(Code code)
{
  return Finding(code, "experimental/torrent-symlinks/t", std::nullopt, "m", "h");
}

} // namespace

TEST_CASE("client table: every code has a row with a reason", "[clients]")
{
  for (int i = 0; i <= static_cast<int>(Code::webseed_url_ipv6_literal); ++i) {
    const auto code = static_cast<Code>(i);
    CHECK(agent::client_row(code).code == code);
    CHECK(!agent::client_row(code).why.empty());
  }
}

TEST_CASE("client usability: errors fail the families they concern", "[clients]")
{
  auto usable = agent::client_usability({});
  CHECK(usable.at(ClientFamily::libtorrent));
  CHECK(usable.at(ClientFamily::transmission));
  CHECK(usable.at(ClientFamily::aria2));

  usable = agent::client_usability({finding(Code::http_status)});
  CHECK(!usable.at(ClientFamily::libtorrent));
  CHECK(!usable.at(ClientFamily::transmission));
  CHECK(!usable.at(ClientFamily::aria2));

  // a redirect that only libtorrent cannot follow (pieces spanning files)
  Finding redirect = finding(Code::http_redirect);
  redirect.severity_override = agent::Severity::error;
  redirect.clients_override = ClientSet{ClientFamily::libtorrent};
  usable = agent::client_usability({redirect});
  CHECK(!usable.at(ClientFamily::libtorrent));
  CHECK(usable.at(ClientFamily::transmission));
  CHECK(usable.at(ClientFamily::aria2));
}

TEST_CASE("client usability: warnings fail a family only when their row says so", "[clients]")
{
  // pad files not served: aria2 and Transmission fail, libtorrent never asks for them
  auto usable = agent::client_usability({finding(Code::pad_files_not_served)});
  CHECK(usable.at(ClientFamily::libtorrent));
  CHECK(!usable.at(ClientFamily::transmission));
  CHECK(!usable.at(ClientFamily::aria2));
  // throttling slows Transmission down, it does not stop it
  usable = agent::client_usability({finding(Code::http_throttled)});
  CHECK(usable.at(ClientFamily::transmission));
  CHECK(agent::affected_clients(finding(Code::http_throttled)) ==
        ClientSet{ClientFamily::transmission});
  // quirks every client accepts concern none
  CHECK(agent::affected_clients(finding(Code::torrent_noncanonical)).empty());
  CHECK(agent::client_names(agent::affected_clients(finding(Code::http_status))) ==
        std::vector<std::string>{"libtorrent", "transmission", "aria2"});
}

TEST_CASE("client text", "[clients]")
{
  CHECK(agent::clients_text(ClientSet{ClientFamily::aria2}) == "aria2");
  CHECK(agent::clients_text(ClientSet{ClientFamily::libtorrent, ClientFamily::aria2}) ==
        "libtorrent and aria2");
  CHECK(agent::clients_text(ClientSet::all()) == "libtorrent, Transmission and aria2");
  CHECK(agent::clients_text(ClientSet::none()) == "no client");
}
