#include "address_policy.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cstring>
#include <netdb.h>
#include <netinet/in.h>

namespace collector {

namespace {

bool public_v4(std::uint32_t a) // host byte order
{
  const auto in = [a](std::uint32_t net, int bits) {
    return bits == 0 || (a >> (32 - bits)) == (net >> (32 - bits));
  };
  return !(in(0x00000000, 8) || in(0x0A000000, 8) || in(0x64400000, 10) || in(0x7F000000, 8) ||
           in(0xA9FE0000, 16) || in(0xAC100000, 12) || in(0xC0000000, 24) || in(0xC0000200, 24) ||
           in(0xC0A80000, 16) || in(0xC6120000, 15) || in(0xC6336400, 24) || in(0xCB007100, 24) ||
           in(0xE0000000, 4) || in(0xF0000000, 4));
}

} // namespace

bool is_public_address(const sockaddr& address)
{
  if (address.sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof v4);
    return public_v4(ntohl(v4.sin_addr.s_addr));
  }
  if (address.sa_family != AF_INET6) {
    return false;
  }
  sockaddr_in6 v6{};
  std::memcpy(&v6, &address, sizeof v6);
  const unsigned char* b = v6.sin6_addr.s6_addr;
  static constexpr unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF};
  if (std::memcmp(b, mapped, 12) == 0) {
    return public_v4((std::uint32_t{b[12]} << 24) | (std::uint32_t{b[13]} << 16) |
                     (std::uint32_t{b[14]} << 8) | b[15]);
  }
  // Global unicast is 2000::/3; inside it: documentation 2001:db8::/32, ORCHID and the IETF
  // protocol assignments 2001::/23 (Teredo included), 6to4 2002::/16 (embeds IPv4 anywhere).
  if ((b[0] & 0xE0) != 0x20) {
    return false; // ::/8 (loopback, mapped, NAT64 64:ff9b::), fc00::/7, fe80::/10, ff00::/8...
  }
  if (b[0] == 0x20 && b[1] == 0x01 && (b[2] == 0x0d && b[3] == 0xb8)) {
    return false;
  }
  if (b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02) {
    return false;
  }
  if (b[0] == 0x20 && b[1] == 0x02) {
    return false;
  }
  return true;
}

std::string endpoint_key(const sockaddr& address)
{
  char text[INET6_ADDRSTRLEN] = {};
  if (address.sa_family == AF_INET) {
    sockaddr_in v4{};
    std::memcpy(&v4, &address, sizeof v4);
    ::inet_ntop(AF_INET, &v4.sin_addr, text, sizeof text);
    return std::string(text) + " " + std::to_string(ntohs(v4.sin_port));
  }
  if (address.sa_family == AF_INET6) {
    sockaddr_in6 v6{};
    std::memcpy(&v6, &address, sizeof v6);
    ::inet_ntop(AF_INET6, &v6.sin6_addr, text, sizeof text);
    return std::string(text) + " " + std::to_string(ntohs(v6.sin6_port));
  }
  return "";
}

AddressPolicy::AddressPolicy(const std::string& base_url, bool allow_private)
    : m_allow_private(allow_private)
{
  const bool https = base_url.starts_with("https://");
  const std::size_t start = base_url.find("://");
  if (start == std::string::npos) {
    return;
  }
  std::string authority = base_url.substr(start + 3);
  authority.resize(std::min(authority.size(), authority.find_first_of("/?#")));
  authority =
      authority.substr(authority.rfind('@') == std::string::npos ? 0 : authority.rfind('@') + 1);
  std::string host = authority;
  std::string port = https ? "443" : "80";
  if (authority.starts_with('[')) {
    const std::size_t close = authority.find(']');
    host = authority.substr(1, close == std::string::npos ? std::string::npos : close - 1);
    if (close != std::string::npos && close + 1 < authority.size() && authority[close + 1] == ':') {
      port = authority.substr(close + 2);
    }
  } else if (const std::size_t colon = authority.rfind(':'); colon != std::string::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (::getaddrinfo(host.c_str(), port.c_str(), &hints, &found) != 0) {
    return;
  }
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next) {
    if (a->ai_addr != nullptr) {
      const std::string key = endpoint_key(*a->ai_addr);
      m_registered.insert(key);
      m_hosts.insert(key.substr(0, key.rfind(' ')));
    }
  }
  ::freeaddrinfo(found);
}

bool AddressPolicy::allows(const sockaddr& address) const
{
  const std::string key = endpoint_key(address);
  if (m_registered.contains(key)) {
    return true;
  }
  return (m_allow_private || is_public_address(address)) &&
         m_hosts.contains(key.substr(0, key.rfind(' ')));
}

} // namespace collector
