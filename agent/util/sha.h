// util/sha.h: SHA-1 and SHA-256 through OpenSSL's EVP interface (SHA-NI where the CPU has
// it). Knows nothing of the agent.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string_view>

namespace util {

using Sha1 = std::array<std::uint8_t, 20>;
using Sha256 = std::array<std::uint8_t, 32>;

Sha1 sha1(std::string_view data);
Sha256 sha256(std::string_view data);

// SHA-256 of the 64 bytes left || right (a merkle tree node).
Sha256 sha256_pair(const Sha256& left, const Sha256& right);

// An incremental digest (SHA-1 or SHA-256), reusable after finish().
class Hasher {
public:
  enum class Algorithm { sha1, sha256 };
  explicit Hasher(Algorithm algorithm);
  ~Hasher();
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  void update(std::string_view data);
  // Writes the digest (20 or 32 bytes) to `out` and resets for the next message.
  void finish(std::uint8_t* out);

private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

} // namespace util
