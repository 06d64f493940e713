#pragma once

// Envelope seal (build + sign) and open (verify), docs/PROTOCOL.md
// "Envelope". The signature is Ed25519 over
//   "relais-envelope-v1" || 0x00 || header bytes
// and the payload is bound through Header.payload_sha256.
//
// Opening runs, in this order, each failure a Rejected status with its
// stable code: FlatBuffers verification of envelope and header
// (MalformedEnvelope), version (UnsupportedVersion), header fields
// (MalformedEnvelope, BadRecipients), signature form
// (UnsupportedSignature), payload hash (PayloadHashMismatch), payload
// format (MalformedPayload), signing key (UnknownSigningKey,
// SigningKeyNotValid), signature (BadSignature), time (ClockSkew, Expired).

#include <cstdint>
#include <string>
#include <string_view>
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

// "relais-envelope-v1" || 0x00 || header_bytes.
std::string EnvelopeSigningInput(std::string_view header_bytes);

// A structurally verified envelope. Points into the bytes given to
// ParseEnvelope, which must outlive it.
struct EnvelopeView {
  const wire::Envelope* envelope = nullptr;
  const wire::Header* header = nullptr;
  std::string_view header_bytes;
  std::string_view payload;
  std::string_view signature;
  std::string_view message_id;
  std::string_view case_id;
  std::string_view sender;
  std::string_view key_id;
};

// Checks everything that needs no key: structure, fields, payload hash and
// payload format (see the order above). Never reads unverified bytes.
Result<EnvelopeView> ParseEnvelope(std::string_view bytes);

// Rejected(BadSignature) unless the signature verifies with `key`.
Status VerifyEnvelopeSignature(const EnvelopeView& envelope,
                               const crypto::Ed25519PublicKey& key);

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
                                  bool check_expiry = true);

// The message id of `bytes` if its envelope and header verify as
// FlatBuffers and the id is 16 bytes; empty otherwise. For rejections of
// envelopes that fail later checks.
std::string PeekMessageId(std::string_view bytes);

// Recipient ids of a parsed envelope, in header order.
std::vector<std::string> RecipientsOf(const EnvelopeView& envelope);

}  // namespace relais
