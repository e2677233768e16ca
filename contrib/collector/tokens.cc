#include "tokens.h"

#include "torrent.h"
#include "util/sha.h"

#include <openssl/rand.h>

#include <stdexcept>

namespace collector {

std::string new_token()
{
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) {
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  }
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out = "wsa_";
  unsigned bits = 0;
  unsigned value = 0;
  for (const unsigned char b : bytes) {
    value = (value << 8) | b;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(value >> bits) & 63];
    }
  }
  if (bits > 0) {
    out += alphabet[(value << (6 - bits)) & 63];
  }
  return out;
}

std::string token_hash(std::string_view token)
{
  return agent::hex(util::sha256(token));
}

} // namespace collector
