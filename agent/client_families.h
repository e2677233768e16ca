// client_families.h: what real clients make of a mirror and a torrent: the one table of client
// knowledge. Every finding code has a row: which client families it concerns and how
// (they fail, or they get through slowed down), each row citing the behaviour it encodes
// (measured on Debian 12 with python3-libtorrent 2.0.8, transmission-cli 3.00 and aria2c 1.36
// downloading through a web seed alone, or read in the clients' sources). "Ready" means
// every family can fetch the torrent from the mirror: no error, and no warning that makes a
// family fail except the torrent's own limits (torrent-format-unsupported,
// pad-files-not-served), which no mirror can fix.
#pragma once

#include "client_set.h"
#include "findings.h"
#include "torrent.h"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace agent {

enum class ClientEffect {
  fails,  // the family cannot fetch the torrent from this mirror
  slowed, // it gets the torrent, later than it could
  none,   // no effect on any client (told for the admin's sake)
};

struct ClientRow {
  Code code;
  ClientSet clients;   // the families concerned
  ClientEffect effect; // for warnings; an error always fails the families it concerns
  std::string_view why;
};

// The row of `code` (every code has one).
const ClientRow& client_row(Code code);

// The families `finding` concerns: its clients_override, else its code's row.
ClientSet affected_clients(const Finding& finding);

// Whether each family can fetch a torrent with these findings: false for a family that an
// error finding concerns, or a warning whose row says it fails.
std::map<ClientFamily, bool> client_usability(const std::vector<Finding>& findings);

// The JSON form: the family names of `clients` ("libtorrent", "transmission", "aria2").
std::vector<std::string> client_names(ClientSet clients);

// The JSON form of client_usability: {"libtorrent": true, "transmission": false, ...}.
std::map<std::string, bool> client_usability_names(const std::vector<Finding>& findings);

// "aria2", "libtorrent and Transmission", "libtorrent, Transmission and aria2".
std::string clients_text(ClientSet clients);

// A torrent-format-unsupported warning at `path` when a family cannot open `torrent` at all
// (v2-only and hybrid torrents in Transmission before 4.0); nullopt when every family can.
std::optional<Finding> format_finding(const Torrent& torrent, const std::string& path);

} // namespace agent
