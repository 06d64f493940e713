// The batch seal's Merkle tree (core/merkle.h) against the test vectors of
// docs/PROTOCOL.md 4.8 and RFC 9162's recursive definition.

#include "core/merkle.h"

#include <gtest/gtest.h>

#include "core/bytes.h"
#include "core/crypto.h"

namespace relais::merkle {
namespace {

std::string Hex(const std::string& bytes) { return HexEncode(bytes); }

// The five header hashes of the documented vectors.
std::vector<std::string> VectorHeaders(size_t n = 5) {
  std::vector<std::string> out;
  for (size_t i = 0; i < n; ++i) {
    out.push_back(
        crypto::Sha256("relais batch test header " + std::to_string(i)));
  }
  return out;
}

// RFC 9162 2.1.1 and 2.1.3.1, written as the RFC says, recursively.
size_t Split(size_t n) {
  size_t k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}
std::string Mth(const std::vector<std::string>& d, size_t from, size_t n) {
  if (n == 1) return LeafHash(d[from]);
  const size_t k = Split(n);
  return NodeHash(Mth(d, from, k), Mth(d, from + k, n - k));
}
std::string Path(size_t m, const std::vector<std::string>& d, size_t from,
                 size_t n) {
  if (n == 1) return "";
  const size_t k = Split(n);
  if (m < k) return Path(m, d, from, k) + Mth(d, from + k, n - k);
  return Path(m - k, d, from + k, n - k) + Mth(d, from, k);
}

TEST(MerkleTest, MatchesTheDocumentedVectors) {
  const auto headers = VectorHeaders();
  EXPECT_EQ(Hex(headers[0]),
            "6dda17d215d933a41637d2df80ce114b52d4f55da02f7f93f3d45ea12134253b");
  const Tree tree(headers);
  EXPECT_EQ(Hex(tree.root()),
            "3996dbda5cc39d2051571f2b39955fa6ac60dd56f472f3a1067cad8934028a03");
  EXPECT_EQ(Hex(tree.Proof(2)),
            "4103386aa0e4436c71c00a2d867e578f8e5e0498bcdf291f9e6420a63194a89b"
            "ef0a034eae0fd28f7a10e8c6b4025eeac70eb37c10ad69a29d2039e7dd03b447"
            "80d9194d5419490dd67c598fa0d72f55c3e9a50bb50d8a7383d76eb4e4cb97a8");
  EXPECT_EQ(Hex(tree.Proof(4)),
            "e966cc00b9e50003cbbbecac7724a018d1cd833fd35c78ef1a6319c564fe0c89");
  EXPECT_EQ(Hex(RootSigningInput(5, tree.root())),
            "72656c6169732d62617463682d76310000000005"
            "3996dbda5cc39d2051571f2b39955fa6ac60dd56f472f3a1067cad8934028a03");
  EXPECT_EQ(Hex(Tree({headers[0]}).root()),
            "fc155b7e056dca8053331829789688f16487e30ca51db997c2e3448f9729bdc1");
  EXPECT_EQ(Tree({headers[0]}).Proof(0), "");

  // The documented root signature, with the seed of 32 bytes 0x42.
  auto key = crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x42'));
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(Hex(key->public_key().raw()),
            "2152f8d19b791d24453242e15f2eab6cb7cffa7b6a5ed30097960e069881db12");
  auto sig = key->Sign(RootSigningInput(5, tree.root()));
  ASSERT_TRUE(sig.ok());
  EXPECT_EQ(Hex(*sig),
            "50a4f8ce4ece7c8ed82f253f7bea88ebe22408068ba0ff260634fe93294df4b8"
            "dd5218620ba55dab4ba2bbcdf4c3684fba22e75f8050703272df50bd8d90540e");
}

TEST(MerkleTest, EqualsRfc9162sRecursiveDefinitionForEverySize) {
  const auto headers = VectorHeaders(70);
  for (size_t n = 1; n <= headers.size(); ++n) {
    const std::vector<std::string> d(headers.begin(),
                                     headers.begin() + static_cast<long>(n));
    const Tree tree(d);
    ASSERT_EQ(tree.root(), Mth(d, 0, n)) << n;
    for (size_t m = 0; m < n; ++m) {
      const std::string proof = tree.Proof(static_cast<uint32_t>(m));
      ASSERT_EQ(proof, Path(m, d, 0, n)) << m << " of " << n;
      ASSERT_EQ(proof.size(), *ProofLength(static_cast<uint32_t>(m),
                                           static_cast<uint32_t>(n)) *
                                  kHashSize);
      auto root = RootFromProof(d[m], static_cast<uint32_t>(m),
                                static_cast<uint32_t>(n), proof);
      ASSERT_TRUE(root.has_value()) << m << " of " << n;
      ASSERT_EQ(*root, tree.root()) << m << " of " << n;
    }
  }
}

TEST(MerkleTest, AProofLeadsToItsRootFromItsOwnLeafAndPlaceOnly) {
  const auto headers = VectorHeaders(9);
  const Tree tree(headers);
  const std::string proof3 = tree.Proof(3);
  // Another header at the same place.
  EXPECT_NE(RootFromProof(headers[4], 3, 9, proof3), tree.root());
  // The same header claimed at another place with a proof of the same
  // length (leaves 2 and 3 swapped: a reordered tree).
  EXPECT_NE(RootFromProof(headers[3], 2, 9, proof3), tree.root());
  // A flipped bit in the proof.
  std::string forged = proof3;
  forged[5] ^= 1;
  EXPECT_NE(RootFromProof(headers[3], 3, 9, forged), tree.root());
  // A proof of the wrong length for the place, or an impossible place.
  EXPECT_FALSE(RootFromProof(headers[3], 3, 9, proof3 + proof3.substr(0, 32)));
  EXPECT_FALSE(RootFromProof(headers[3], 3, 9, proof3.substr(32)));
  EXPECT_FALSE(RootFromProof(headers[3], 9, 9, proof3));
  EXPECT_FALSE(RootFromProof(headers[3], 0, 0, ""));
  EXPECT_FALSE(ProofLength(0, kMaxLeaves + 1).has_value());
  EXPECT_EQ(*ProofLength(kMaxLeaves - 1, kMaxLeaves), 16u);
  // The leaf count is part of the signed input: the same root under
  // another count is another statement.
  EXPECT_NE(RootSigningInput(9, tree.root()), RootSigningInput(8, tree.root()));
}

TEST(MerkleTest, LeafAndNodeHashesAreDomainSeparated) {
  const std::string a(32, 'a'), b(32, 'b');
  EXPECT_EQ(LeafHash(a), crypto::Sha256(std::string(1, '\0') + a));
  EXPECT_EQ(NodeHash(a, b), crypto::Sha256(std::string(1, '\1') + a + b));
  // An inner node cannot pass for a leaf: a two-leaf tree's root differs
  // from the leaf hash of its two children's concatenation.
  EXPECT_NE(Tree({a, b}).root(), LeafHash(LeafHash(a) + LeafHash(b)));
}

}  // namespace
}  // namespace relais::merkle
