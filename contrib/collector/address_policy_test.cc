#include "address_policy.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <cstring>
#include <netinet/in.h>

namespace {

sockaddr_storage endpoint(const char* ip, unsigned short port)
{
  sockaddr_storage s{};
  if (std::strchr(ip, ':') != nullptr) {
    auto* v6 = reinterpret_cast<sockaddr_in6*>(&s);
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    REQUIRE(::inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1);
  } else {
    auto* v4 = reinterpret_cast<sockaddr_in*>(&s);
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    REQUIRE(::inet_pton(AF_INET, ip, &v4->sin_addr) == 1);
  }
  return s;
}

bool is_public(const char* ip)
{
  const sockaddr_storage s = endpoint(ip, 80);
  return collector::is_public_address(reinterpret_cast<const sockaddr&>(s));
}

} // namespace

TEST_CASE("is_public_address: special ranges are not public", "[collector][address_policy]")
{
  for (const char* ip : {"127.0.0.1",
                         "10.1.2.3",
                         "172.16.0.1",
                         "172.31.255.255",
                         "192.168.1.1",
                         "169.254.169.254",
                         "100.64.0.1",
                         "0.0.0.0",
                         "224.0.0.1",
                         "255.255.255.255",
                         "198.18.0.1",
                         "192.0.2.1",
                         "::1",
                         "::",
                         "fe80::1",
                         "fd00::1",
                         "ff02::1",
                         "::ffff:127.0.0.1",
                         "::ffff:169.254.169.254",
                         "64:ff9b::a9fe:a9fe",
                         "2001:db8::1",
                         "2002:7f00:1::1"}) {
    INFO(ip);
    CHECK_FALSE(is_public(ip));
  }
  for (const char* ip : {"8.8.8.8", "1.1.1.1", "172.32.0.1", "192.169.0.1", "100.128.0.1",
                         "2a00:1450:4001::1", "::ffff:8.8.8.8", "2620:0:2d0:200::7"}) {
    INFO(ip);
    CHECK(is_public(ip));
  }
}

TEST_CASE("AddressPolicy: the registered host's own address and port only; never another host",
          "[collector][address_policy]")
{
  const collector::AddressPolicy policy("http://127.0.0.1:8080/pub/", false);
  const auto own = endpoint("127.0.0.1", 8080);
  const auto other_port = endpoint("127.0.0.1", 18090);
  const auto metadata = endpoint("169.254.169.254", 80);
  const auto internet = endpoint("8.8.8.8", 80);
  CHECK(policy.allows(reinterpret_cast<const sockaddr&>(own)));
  CHECK_FALSE(policy.allows(reinterpret_cast<const sockaddr&>(other_port)));
  CHECK_FALSE(policy.allows(reinterpret_cast<const sockaddr&>(metadata)));
  CHECK_FALSE(policy.allows(reinterpret_cast<const sockaddr&>(internet))); // another host

  const collector::AddressPolicy v6("https://[::1]/", false);
  const auto own6 = endpoint("::1", 443);
  CHECK(v6.allows(reinterpret_cast<const sockaddr&>(own6)));
  CHECK_FALSE(v6.allows(reinterpret_cast<const sockaddr&>(own)));

  // allow_private: the registered private host on another port too; still no other host
  const collector::AddressPolicy open("http://127.0.0.1:8080/", true);
  CHECK(open.allows(reinterpret_cast<const sockaddr&>(other_port)));
  CHECK_FALSE(open.allows(reinterpret_cast<const sockaddr&>(metadata)));
  CHECK_FALSE(open.allows(reinterpret_cast<const sockaddr&>(internet)));
  const auto loopback2 = endpoint("127.0.0.2", 8080);
  CHECK_FALSE(open.allows(reinterpret_cast<const sockaddr&>(loopback2)));

  // a public host: its other ports (http -> https), no other public host
  const collector::AddressPolicy public_host("http://8.8.8.8/", false);
  const auto https = endpoint("8.8.8.8", 443);
  const auto other_public = endpoint("1.1.1.1", 80);
  CHECK(public_host.allows(reinterpret_cast<const sockaddr&>(internet)));
  CHECK(public_host.allows(reinterpret_cast<const sockaddr&>(https)));
  CHECK_FALSE(public_host.allows(reinterpret_cast<const sockaddr&>(other_public)));
}
