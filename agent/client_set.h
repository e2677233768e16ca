// client_set.h: the major BitTorrent client families that fetch from web seeds, and a set of
// them. What each family does is in client_families.h (the one table of client knowledge).
#pragma once

#include <array>
#include <cstdint>
#include <initializer_list>
#include <string_view>

namespace agent {

enum class ClientFamily : std::uint8_t {
  libtorrent,   // libtorrent-rasterbar 2.0 (qBittorrent, Deluge, python3-libtorrent)
  transmission, // Transmission 3.00 (Debian 12's)
  aria2,        // aria2 1.36
};

inline constexpr std::array k_client_families = {ClientFamily::libtorrent,
                                                 ClientFamily::transmission, ClientFamily::aria2};

// "libtorrent", "transmission", "aria2": the strings of the JSON outputs (a public interface).
constexpr std::string_view family_name(ClientFamily f)
{
  switch (f) {
  case ClientFamily::libtorrent: return "libtorrent";
  case ClientFamily::transmission: return "transmission";
  case ClientFamily::aria2: return "aria2";
  }
  return "unknown";
}

// A set of client families (a bit per family).
class ClientSet {
public:
  constexpr ClientSet() = default;
  constexpr ClientSet(std::initializer_list<ClientFamily> families)
  {
    for (const ClientFamily f : families) {
      m_bits |= bit(f);
    }
  }
  static constexpr ClientSet all()
  {
    return {ClientFamily::libtorrent, ClientFamily::transmission, ClientFamily::aria2};
  }
  static constexpr ClientSet none() { return {}; }

  constexpr bool contains(ClientFamily f) const { return (m_bits & bit(f)) != 0; }
  constexpr bool empty() const { return m_bits == 0; }
  constexpr ClientSet operator|(ClientSet o) const { return from_bits(m_bits | o.m_bits); }
  constexpr bool operator==(const ClientSet&) const = default;

private:
  static constexpr std::uint8_t bit(ClientFamily f)
  {
    return static_cast<std::uint8_t>(1u << static_cast<unsigned>(f));
  }
  static constexpr ClientSet from_bits(std::uint8_t bits)
  {
    ClientSet s;
    s.m_bits = bits;
    return s;
  }
  std::uint8_t m_bits = 0;
};

} // namespace agent
