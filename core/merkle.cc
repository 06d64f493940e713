#include "core/merkle.h"

#include <cassert>

#include "core/crypto.h"

namespace relais::merkle {

std::string LeafHash(std::string_view header_sha256) {
  std::string input;
  input.reserve(1 + header_sha256.size());
  input.push_back('\x00');
  input.append(header_sha256);
  return crypto::Sha256(input);
}

std::string NodeHash(std::string_view left, std::string_view right) {
  std::string input;
  input.reserve(1 + left.size() + right.size());
  input.push_back('\x01');
  input.append(left);
  input.append(right);
  return crypto::Sha256(input);
}

std::string RootSigningInput(uint32_t leaf_count, std::string_view root) {
  std::string input;
  input.reserve(kRootSigningTag.size() + 5 + root.size());
  input.append(kRootSigningTag);
  input.push_back('\x00');
  for (int shift = 24; shift >= 0; shift -= 8) {
    input.push_back(static_cast<char>((leaf_count >> shift) & 0xff));
  }
  input.append(root);
  return input;
}

std::optional<size_t> ProofLength(uint32_t index, uint32_t count) {
  if (count == 0 || count > kMaxLeaves || index >= count) return std::nullopt;
  // One sibling per level where the node is not the odd last one.
  size_t length = 0;
  for (uint64_t i = index, n = count; n > 1; i >>= 1, n = (n + 1) / 2) {
    if ((i ^ 1) < n) ++length;
  }
  return length;
}

Tree::Tree(const std::vector<std::string>& header_hashes) {
  assert(!header_hashes.empty() && header_hashes.size() <= kMaxLeaves);
  std::vector<std::string> level;
  level.reserve(header_hashes.size());
  for (const auto& h : header_hashes) level.push_back(LeafHash(h));
  levels_.push_back(std::move(level));
  while (levels_.back().size() > 1) {
    const auto& below = levels_.back();
    std::vector<std::string> above;
    above.reserve((below.size() + 1) / 2);
    for (size_t i = 0; i + 1 < below.size(); i += 2) {
      above.push_back(NodeHash(below[i], below[i + 1]));
    }
    if (below.size() % 2 == 1) above.push_back(below.back());
    levels_.push_back(std::move(above));
  }
}

std::string Tree::Proof(uint32_t index) const {
  std::string proof;
  size_t i = index;
  for (size_t level = 0; level + 1 < levels_.size(); ++level, i >>= 1) {
    const size_t sibling = i ^ 1;
    if (sibling < levels_[level].size()) proof += levels_[level][sibling];
  }
  return proof;
}

std::optional<std::string> RootFromProof(std::string_view header_sha256,
                                         uint32_t index, uint32_t count,
                                         std::string_view proof) {
  const auto length = ProofLength(index, count);
  if (!length || proof.size() != *length * kHashSize) return std::nullopt;
  // RFC 9162 2.1.3.2, with fn = index and sn = count - 1.
  uint64_t fn = index, sn = count - 1;
  std::string r = LeafHash(header_sha256);
  for (size_t at = 0; at < proof.size(); at += kHashSize) {
    const std::string_view p = proof.substr(at, kHashSize);
    if (sn == 0) return std::nullopt;
    if ((fn & 1) == 1 || fn == sn) {
      r = NodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = NodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return std::nullopt;
  return r;
}

}  // namespace relais::merkle
