#pragma once

// Envelope seal (build + sign) and open (verify), docs/PROTOCOL.md
// "Envelope". The signature is Ed25519 over
//   "relais-envelope-v1" || 0x00 || header bytes
// or, for a batch seal (4.8), over the root of a Merkle tree of header
// hashes (core/merkle.h), each envelope carrying its inclusion proof. The
// payload is bound through Header.payload_sha256.
//
// Opening runs, in this order, each failure a Rejected status with its
// stable code: FlatBuffers verification of envelope and header
// (MalformedEnvelope), version (UnsupportedVersion), header fields
// (MalformedEnvelope, BadRecipients), signature form
// (MalformedEnvelope), payload hash (PayloadHashMismatch), payload
// format (MalformedPayload), signing key (UnknownSigningKey,
// SigningKeyNotValid), batch proof (BadBatchProof), signature
// (BadSignature), time (ClockSkew, Expired).

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "core/keys.h"
#include "core/status.h"
#include "schemas/envelope_generated.h"
#include "schemas/status_report_generated.h"

namespace relais {

inline constexpr std::string_view kEnvelopeSigningTag = "relais-envelope-v1";
inline constexpr uint16_t kEnvelopeVersion = 1;
inline constexpr size_t kMaxRecipients = 32;
inline constexpr char kEnvelopeIdentifier[] = "RLE1";
inline constexpr char kHeaderIdentifier[] = "RLH1";
inline constexpr char kCaseEventIdentifier[] = "RLC1";
inline constexpr char kStatusReportIdentifier[] = "RLR1";

// What a sender fills in; SealEnvelope does the rest.
struct EnvelopeDraft {
  std::string message_id;  // 16 bytes; a random one is drawn if empty
  std::string case_id;
  std::string sender;
  std::vector<std::string> recipients;
  wire::CaseType case_type = wire::CaseType::Unknown;
  wire::PayloadEncoding encoding = wire::PayloadEncoding::CaseEvent;
  std::string payload;
  int64_t created_at_ms = 0;
  int64_t expires_at_ms = 0;
  std::string in_reply_to;  // empty or 16 bytes
  std::string subject_ref;  // empty or 32 bytes
};

struct SealedEnvelope {
  std::string message_id;  // 16 bytes
  std::string bytes;       // the Envelope FlatBuffer
  // SHA-256 of the header bytes (the broker's dedup and audit); may be
  // left empty by code that only sends the bytes again.
  std::string header_sha256;
};

// Builds the header and envelope and signs them with `key`. The draft is
// checked with the same rules as ParseEnvelope, so a sealed envelope always
// parses: InvalidArgument names the first field that would not.
Result<SealedEnvelope> SealEnvelope(const EnvelopeDraft& draft,
                                    const SigningKey& key);

// Seals the drafts as one batch (PROTOCOL.md 4.8): one signature over the
// root of the Merkle tree of their headers, each envelope with its proof.
// 1 to merkle::kMaxLeaves drafts; each is checked as SealEnvelope does.
Result<std::vector<SealedEnvelope>> SealBatch(
    const std::vector<EnvelopeDraft>& drafts, const SigningKey& key);

// "relais-envelope-v1" || 0x00 || header_bytes.
std::string EnvelopeSigningInput(std::string_view header_bytes);

// Batch roots whose signature verified, so that a batch costs one Ed25519
// verification however many of its envelopes arrive: keyed by the public
// key, the leaf count, the root and the root signature's bytes (so that
// an envelope it lets through also verifies alone). Holds the `capacity`
// most recently added; safe to share between threads.
class VerifiedRoots {
 public:
  explicit VerifiedRoots(size_t capacity = 4096) : capacity_(capacity) {}
  VerifiedRoots(const VerifiedRoots&) = delete;
  VerifiedRoots& operator=(const VerifiedRoots&) = delete;

  // What Contains, Add and Acquire take.
  static std::string KeyOf(const crypto::Ed25519PublicKey& key,
                           uint32_t leaf_count, std::string_view root,
                           std::string_view root_signature);
  bool Contains(const std::string& key) const;
  // After a root signature verified.
  void Add(const std::string& key);
  // True if `key` is verified. Otherwise the caller verifies it and then
  // calls Done; meanwhile another caller for the same key waits for that
  // Done instead of verifying again, so each root is verified once.
  bool Acquire(const std::string& key);
  void Done(const std::string& key, bool verified);
  // Roots added so far (each one an Ed25519 verification).
  uint64_t verifications() const;

 private:
  size_t capacity_;
  mutable std::mutex mu_;
  std::unordered_set<std::string> keys_;       // guarded by mu_
  std::deque<std::string> order_;              // oldest first, guarded by mu_
  std::unordered_set<std::string> verifying_;  // guarded by mu_
  std::condition_variable done_;
  uint64_t verifications_ = 0;  // guarded by mu_
};

// A structurally verified envelope. Points into the bytes given to
// ParseEnvelope, which must outlive it.
struct EnvelopeView {
  const wire::Envelope* envelope = nullptr;
  const wire::Header* header = nullptr;
  std::string_view header_bytes;
  std::string_view payload;
  std::string_view signature;  // empty when batch-sealed
  // Batch-sealed (a `batch`, no `signature`): the seal's fields, sizes
  // checked (root 32 bytes, root signature 64, path a multiple of 32).
  bool batch_sealed = false;
  std::string_view batch_root, batch_root_signature, batch_path;
  uint32_t batch_leaf_index = 0, batch_leaf_count = 0;
  std::string_view message_id;
  std::string_view case_id;
  std::string_view sender;
  std::string_view key_id;
};

// Checks everything that needs no key: structure, fields, payload hash and
// payload format (see the order above). Never reads unverified bytes.
Result<EnvelopeView> ParseEnvelope(std::string_view bytes);

// Rejected(BadSignature) unless the signature verifies with `key`. A
// batch-sealed envelope: Rejected(BadBatchProof) unless its proof leads
// from its header to its root, then Rejected(BadSignature) unless the root
// signature verifies with `key`, checked once per root if `roots` is given.
// `header_sha256`, if the caller has it already: SHA-256 of the header's
// bytes (computed here otherwise).
Status VerifyEnvelopeSignature(const EnvelopeView& envelope,
                               const crypto::Ed25519PublicKey& key,
                               VerifiedRoots* roots = nullptr,
                               std::string_view header_sha256 = {});

struct TimePolicy {
  // How far created_at_ms may be ahead of the receiver's clock.
  int64_t max_clock_skew_ms = 5 * 60 * 1000;
  // Longest allowed expires_at_ms - created_at_ms.
  int64_t max_ttl_ms = 90LL * 24 * 3600 * 1000;
};

// Rejected(ClockSkew) or Rejected(Expired) as the policy says.
Status CheckEnvelopeTime(const EnvelopeView& envelope, int64_t now_ms,
                         const TimePolicy& policy);

// ParseEnvelope, then the sender's key from `keys` (valid at created_at_ms),
// the signature and the time: what a recipient checks on every delivery.
// With `check_expiry` false an expired message still opens (an operator's
// replay); every other check stays.
Result<EnvelopeView> OpenEnvelope(std::string_view bytes,
                                  const KeyDirectory& keys, int64_t now_ms,
                                  const TimePolicy& policy,
                                  bool check_expiry = true,
                                  VerifiedRoots* roots = nullptr);

// The message id of `bytes` if its envelope and header verify as
// FlatBuffers and the id is 16 bytes; empty otherwise. For rejections of
// envelopes that fail later checks.
std::string PeekMessageId(std::string_view bytes);

// Recipient ids of a parsed envelope, in header order.
std::vector<std::string> RecipientsOf(const EnvelopeView& envelope);

}  // namespace relais
