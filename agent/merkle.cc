#include "merkle.h"

#include <string_view>

namespace agent {

std::size_t next_pow2(std::size_t n)
{
  std::size_t width = 1;
  while (width < n) {
    width *= 2;
  }
  return width;
}

util::Sha256 zero_subtree(unsigned height)
{
  util::Sha256 h{};
  for (unsigned i = 0; i < height; ++i) {
    h = util::sha256_pair(h, h);
  }
  return h;
}

unsigned piece_height(std::uint64_t piece_length)
{
  unsigned height = 0;
  for (std::uint64_t blocks = piece_length / k_v2_block_size; blocks > 1; blocks /= 2) {
    ++height;
  }
  return height;
}

util::Sha256 merkle_root(std::vector<util::Sha256>& leaves, std::size_t width,
                         const util::Sha256& pad_leaf)
{
  if (leaves.empty()) {
    leaves.push_back(pad_leaf);
  }
  util::Sha256 pad = pad_leaf;
  util::Hasher hasher(util::Hasher::Algorithm::sha256);
  const auto node = [&](const util::Sha256& left, const util::Sha256& right) {
    util::Sha256 out{};
    hasher.update(std::string_view(reinterpret_cast<const char*>(left.data()), 32));
    hasher.update(std::string_view(reinterpret_cast<const char*>(right.data()), 32));
    hasher.finish(out.data());
    return out;
  };
  for (; width > 1; width /= 2) {
    const std::size_t n = leaves.size();
    for (std::size_t i = 0; 2 * i < n; ++i) {
      leaves[i] = node(leaves[2 * i], 2 * i + 1 < n ? leaves[2 * i + 1] : pad);
    }
    leaves.resize((n + 1) / 2);
    pad = node(pad, pad);
  }
  return leaves.front();
}

} // namespace agent
