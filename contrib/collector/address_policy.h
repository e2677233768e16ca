// address_policy.h: where the collector's spot checks may connect (the SSRF guard, issue 14).
// A mirror's server is untrusted: its redirects (and its DNS) must not make the collector
// reach loopback, private, link-local (cloud metadata), multicast or otherwise special
// addresses, nor to another host at all (issue 14: redirects to another host are never
// followed). Allowed: the addresses the registered base URL's host resolves to, with the
// URL's port; and another port of those addresses when the address is public (a redirect from
// http:// to https:// on the same host) or `spot_check.allow_private` is set. Everything else,
// public or not, is refused before the connection is made (the check gets http-unreachable).
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <sys/socket.h>
#include <utility>

namespace collector {

// True for a global unicast address: not loopback, unspecified, private (RFC 1918, ULA),
// shared (100.64/10), link-local, multicast, reserved, documentation or benchmarking ranges;
// an IPv4-mapped IPv6 address is judged as its IPv4 address.
bool is_public_address(const sockaddr& address);

// "ADDRESS PORT" of an AF_INET or AF_INET6 socket address ("" for another family).
std::string endpoint_key(const sockaddr& address);

class AddressPolicy {
public:
  // Resolves the host of `base_url` (http:// or https://, port from the URL or the scheme) and
  // remembers its addresses with that port. A name that does not resolve adds nothing.
  AddressPolicy(const std::string& base_url, bool allow_private);
  bool allows(const sockaddr& address) const;

private:
  bool m_allow_private;
  std::set<std::string> m_registered; // endpoint_key()s
  std::set<std::string> m_hosts;      // their addresses, without the port
};

} // namespace collector
