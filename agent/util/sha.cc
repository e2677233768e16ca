#include "util/sha.h"

#include <openssl/evp.h>

#include <stdexcept>
#include <string>

namespace util {

namespace {

// Fetched once: passing EVP_sha1()/EVP_sha256() makes OpenSSL 3 look the implementation up
// (under a lock) on every init, which dominates when hashing many small messages.
const EVP_MD* fetched(const char* name)
{
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) {
    throw std::runtime_error(std::string("OpenSSL has no ") + name);
  }
  return md; // kept for the life of the process
}

const EVP_MD* md_sha1()
{
  static const EVP_MD* md = fetched("SHA1");
  return md;
}

const EVP_MD* md_sha256()
{
  static const EVP_MD* md = fetched("SHA256");
  return md;
}

template <std::size_t N> std::array<std::uint8_t, N> digest(const EVP_MD* md, std::string_view data)
{
  std::array<std::uint8_t, N> out{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), out.data(), &size, md, nullptr) != 1 || size != N) {
    throw std::runtime_error("OpenSSL EVP_Digest failed");
  }
  return out;
}

} // namespace

Sha1 sha1(std::string_view data)
{
  return digest<20>(EVP_sha1(), data);
}

Sha256 sha256(std::string_view data)
{
  return digest<32>(EVP_sha256(), data);
}

Sha256 sha256_pair(const Sha256& left, const Sha256& right)
{
  std::array<char, 64> both{};
  std::copy(left.begin(), left.end(), both.begin());
  std::copy(right.begin(), right.end(), both.begin() + 32);
  return sha256(std::string_view(both.data(), both.size()));
}

struct Hasher::Impl {
  const EVP_MD* md;
  std::unique_ptr<EVP_MD_CTX, void (*)(EVP_MD_CTX*)> ctx{EVP_MD_CTX_new(), EVP_MD_CTX_free};
};

Hasher::Hasher(Algorithm algorithm)
    : m_impl(std::make_unique<Impl>(Impl{algorithm == Algorithm::sha1 ? md_sha1() : md_sha256()}))
{
  if (!m_impl->ctx || EVP_DigestInit_ex(m_impl->ctx.get(), m_impl->md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_DigestInit_ex failed");
  }
}

Hasher::~Hasher() = default;

void Hasher::update(std::string_view data)
{
  if (EVP_DigestUpdate(m_impl->ctx.get(), data.data(), data.size()) != 1) {
    throw std::runtime_error("OpenSSL EVP_DigestUpdate failed");
  }
}

void Hasher::finish(std::uint8_t* out)
{
  unsigned int size = 0;
  if (EVP_DigestFinal_ex(m_impl->ctx.get(), out, &size) != 1 ||
      EVP_DigestInit_ex(m_impl->ctx.get(), m_impl->md, nullptr) != 1) {
    throw std::runtime_error("OpenSSL EVP_DigestFinal_ex failed");
  }
}

} // namespace util
