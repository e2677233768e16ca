// merkle.h: BEP 52 merkle trees over SHA-256 (16 KiB blocks, piece layers, file roots).
#pragma once

#include "util/sha.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace agent {

inline constexpr std::uint64_t k_v2_block_size = 16 * 1024;

// The smallest power of two >= n (1 for n <= 1).
std::size_t next_pow2(std::size_t n);

// The root of a complete binary tree of 2^height leaves that are all zero hashes.
util::Sha256 zero_subtree(unsigned height);

// log2 of the number of 16 KiB blocks in a piece (piece_length a power of two >= 16 KiB).
unsigned piece_height(std::uint64_t piece_length);

// The root of the tree whose leaves are `leaves` followed by copies of `pad` up to `width`
// (a power of two >= leaves.size()). Padding subtrees are hashed once per level, not per leaf.
// `leaves` is consumed as scratch space.
util::Sha256 merkle_root(std::vector<util::Sha256>& leaves, std::size_t width,
                         const util::Sha256& pad);

} // namespace agent
