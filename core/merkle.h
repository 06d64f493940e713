#pragma once

// The Merkle tree of a batch seal (docs/PROTOCOL.md 4.8): one Ed25519
// signature over the root of a tree whose leaves are the SHA-256 hashes of
// the envelopes' header bytes. The tree is RFC 9162's (Certificate
// Transparency v2, section 2.1), with its domain-separated hashes:
//
//   leaf = SHA-256(0x00 || header_sha256)
//   node = SHA-256(0x01 || left || right)
//
// over n leaves split at the largest power of two below n, so every n has
// exactly one tree and no leaf is ever duplicated. An inclusion proof is
// the list of sibling hashes from the leaf up to the root, 32 bytes each.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace relais::merkle {

inline constexpr size_t kHashSize = 32;
// Most leaves a batch may have; a proof then has at most 16 hashes.
inline constexpr uint32_t kMaxLeaves = 65536;
inline constexpr size_t kMaxProofHashes = 16;
inline constexpr std::string_view kRootSigningTag = "relais-batch-v1";

// SHA-256(0x00 || header_sha256).
std::string LeafHash(std::string_view header_sha256);
// SHA-256(0x01 || left || right).
std::string NodeHash(std::string_view left, std::string_view right);

// What the sender signs for a batch:
//   "relais-batch-v1" || 0x00 || leaf_count (4 bytes, big-endian) || root
std::string RootSigningInput(uint32_t leaf_count, std::string_view root);

// The number of hashes in the proof of leaf `index` among `count` leaves,
// or nullopt if index >= count or count is 0 or above kMaxLeaves.
std::optional<size_t> ProofLength(uint32_t index, uint32_t count);

// A tree over 1 to kMaxLeaves header hashes (32 bytes each), built level by
// level: each level pairs its nodes left to right and lifts an odd last
// node unchanged, which gives RFC 9162's tree.
class Tree {
 public:
  // `header_hashes` must hold 1 to kMaxLeaves hashes of 32 bytes.
  explicit Tree(const std::vector<std::string>& header_hashes);

  const std::string& root() const { return levels_.back().front(); }
  uint32_t size() const { return static_cast<uint32_t>(levels_[0].size()); }
  // The siblings of leaf `index` from the bottom up, concatenated.
  std::string Proof(uint32_t index) const;

 private:
  std::vector<std::vector<std::string>> levels_;  // [0]: the leaf hashes
};

// The root that `proof` leads to from the leaf of `header_sha256` at
// `index` among `count` leaves (RFC 9162 2.1.3.2), or nullopt if the proof
// cannot belong to such a tree (its length does not fit index and count).
std::optional<std::string> RootFromProof(std::string_view header_sha256,
                                         uint32_t index, uint32_t count,
                                         std::string_view proof);

}  // namespace relais::merkle
