#include "core/envelope.h"

#include <algorithm>
#include <set>

#include "core/bytes.h"
#include "core/case_extras.h"
#include "core/crypto.h"
#include "core/flatbuf.h"
#include "core/ids.h"
#include "core/merkle.h"

namespace relais {
namespace {

using wire::RejectCode;

Status Malformed(std::string reason) {
  return Status::Rejected(RejectCode::MalformedEnvelope, std::move(reason));
}

bool IsKeyId(std::string_view s) {
  if (s.size() != 16) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

// Header fields other than recipients and time.
Status CheckHeaderFields(const wire::Header& h) {
  if (h.version() != kEnvelopeVersion) {
    return Status::Rejected(RejectCode::UnsupportedVersion,
                            "header version " + std::to_string(h.version()) +
                                " is not supported (this broker speaks 1)");
  }
  if (VectorBytes(h.message_id()).size() != kMessageIdSize) {
    return Malformed("message_id must be 16 bytes");
  }
  if (!IsValidCaseId(StringView(h.case_id()))) {
    return Malformed("case_id must be 1-64 characters of [A-Za-z0-9._:-]");
  }
  if (!IsValidParticipantId(StringView(h.sender()))) {
    return Malformed("sender is not a participant id");
  }
  const auto type = static_cast<uint8_t>(h.case_type());
  if (type < static_cast<uint8_t>(wire::CaseType::MIN) + 1 ||
      type > static_cast<uint8_t>(wire::CaseType::MAX)) {
    return Malformed("case_type " + std::to_string(type) + " is unknown");
  }
  if (h.payload_encoding() != wire::PayloadEncoding::CaseEvent &&
      h.payload_encoding() != wire::PayloadEncoding::Opaque &&
      h.payload_encoding() != wire::PayloadEncoding::StatusReport) {
    return Malformed("payload_encoding " +
                     std::to_string(static_cast<int>(h.payload_encoding())) +
                     " is unknown");
  }
  if (VectorBytes(h.payload_sha256()).size() != crypto::kSha256Size) {
    return Malformed("payload_sha256 must be 32 bytes");
  }
  if (!IsKeyId(StringView(h.key_id()))) {
    return Malformed("key_id must be 16 lowercase hex characters");
  }
  const size_t reply = VectorBytes(h.in_reply_to()).size();
  if (reply != 0 && reply != kMessageIdSize) {
    return Malformed("in_reply_to must be absent or 16 bytes");
  }
  const size_t subject = VectorBytes(h.subject_ref()).size();
  if (subject != 0 && subject != 32) {
    return Malformed("subject_ref must be absent or 32 bytes");
  }
  if (h.created_at_ms() <= 0) return Malformed("created_at_ms must be set");
  return Status::OK();
}

Status CheckRecipients(const wire::Header& h) {
  const auto* recipients = h.recipients();
  if (recipients == nullptr || recipients->size() == 0) {
    return Status::Rejected(RejectCode::BadRecipients, "no recipient");
  }
  if (recipients->size() > kMaxRecipients) {
    return Status::Rejected(RejectCode::BadRecipients,
                            "more than 32 recipients");
  }
  std::set<std::string_view> seen;
  const std::string_view sender = StringView(h.sender());
  for (const auto* r : *recipients) {
    const std::string_view id = StringView(r);
    if (!IsValidParticipantId(id)) {
      return Status::Rejected(
          RejectCode::BadRecipients,
          "recipient is not a participant id: '" + std::string(id) + "'");
    }
    if (id == sender) {
      return Status::Rejected(RejectCode::BadRecipients,
                              "the sender cannot be a recipient");
    }
    if (!seen.insert(id).second) {
      return Status::Rejected(RejectCode::BadRecipients,
                              "recipient listed twice: " + std::string(id));
    }
  }
  return Status::OK();
}

Status CheckPayload(const wire::Header& h, std::string_view payload) {
  if (!crypto::ConstantTimeEquals(crypto::Sha256(payload),
                                  VectorBytes(h.payload_sha256()))) {
    return Status::Rejected(RejectCode::PayloadHashMismatch,
                            "SHA-256 of the payload differs from the header");
  }
  if (h.payload_encoding() == wire::PayloadEncoding::StatusReport) {
    if (VerifiedRoot<wire::StatusReport>(payload, kStatusReportIdentifier) ==
        nullptr) {
      return Status::Rejected(
          RejectCode::MalformedPayload,
          "payload is not a valid StatusReport FlatBuffer (identifier RLR1)");
    }
    return Status::OK();
  }
  if (h.payload_encoding() != wire::PayloadEncoding::CaseEvent) {
    return Status::OK();
  }
  const auto* event =
      VerifiedRoot<wire::CaseEvent>(payload, kCaseEventIdentifier);
  if (event == nullptr) {
    return Status::Rejected(
        RejectCode::MalformedPayload,
        "payload is not a valid CaseEvent FlatBuffer (identifier RLC1)");
  }
  if (static_cast<uint8_t>(event->body_type()) !=
      static_cast<uint8_t>(h.case_type())) {
    return Status::Rejected(RejectCode::MalformedPayload,
                            std::string("payload body is ") +
                                wire::EnumNameCaseBody(event->body_type()) +
                                " but case_type is " +
                                wire::EnumNameCaseType(h.case_type()));
  }
  // The broker writes the assistance in the case's trail: its form first.
  if (event->assistance() != nullptr) {
    if (Status st = CheckAssistance(*event->assistance()); !st.ok()) {
      return Status::Rejected(RejectCode::MalformedPayload, st.message());
    }
  }
  return Status::OK();
}

}  // namespace

std::string EnvelopeSigningInput(std::string_view header_bytes) {
  std::string input;
  input.reserve(kEnvelopeSigningTag.size() + 1 + header_bytes.size());
  input.append(kEnvelopeSigningTag);
  input.push_back('\0');
  input.append(header_bytes);
  return input;
}

namespace {

// The sizes of a batch seal's fields (PROTOCOL.md 5, step 11); whether its
// proof holds is VerifyEnvelopeSignature's (step 18).
Status ParseBatchSeal(const wire::BatchSeal* batch, EnvelopeView* v) {
  if (batch == nullptr) return Malformed("no signature and no batch seal");
  v->batch_sealed = true;
  v->batch_root = VectorBytes(batch->root());
  v->batch_root_signature = VectorBytes(batch->root_signature());
  v->batch_path = VectorBytes(batch->path());
  v->batch_leaf_index = batch->leaf_index();
  v->batch_leaf_count = batch->leaf_count();
  if (v->batch_root.size() != merkle::kHashSize) {
    return Malformed("batch.root must be 32 bytes");
  }
  if (v->batch_root_signature.size() != crypto::kEd25519SignatureSize) {
    return Malformed("batch.root_signature must be 64 bytes");
  }
  if (v->batch_path.size() % merkle::kHashSize != 0 ||
      v->batch_path.size() > merkle::kMaxProofHashes * merkle::kHashSize) {
    return Malformed("batch.path must be at most 16 hashes of 32 bytes");
  }
  return Status::OK();
}

}  // namespace

Result<EnvelopeView> ParseEnvelope(std::string_view bytes) {
  const auto* env = VerifiedRoot<wire::Envelope>(bytes, kEnvelopeIdentifier,
                                                 /*verify_nested=*/false);
  if (env == nullptr) {
    return Malformed("not a valid Envelope FlatBuffer (identifier RLE1)");
  }
  EnvelopeView v;
  v.envelope = env;
  v.header_bytes = VectorBytes(env->header());
  v.header = VerifiedRoot<wire::Header>(v.header_bytes, kHeaderIdentifier);
  if (v.header == nullptr) {
    return Malformed(
        "header is not a valid Header FlatBuffer (identifier RLH1)");
  }
  RELAIS_RETURN_IF_ERROR(CheckHeaderFields(*v.header));
  RELAIS_RETURN_IF_ERROR(CheckRecipients(*v.header));
  v.signature = VectorBytes(env->signature());
  if (v.signature.empty()) {
    RELAIS_RETURN_IF_ERROR(ParseBatchSeal(env->batch(), &v));
  } else if (v.signature.size() != crypto::kEd25519SignatureSize) {
    return Malformed("signature must be 64 bytes");
  }
  v.payload = VectorBytes(env->payload());
  RELAIS_RETURN_IF_ERROR(CheckPayload(*v.header, v.payload));
  v.message_id = VectorBytes(v.header->message_id());
  v.case_id = StringView(v.header->case_id());
  v.sender = StringView(v.header->sender());
  v.key_id = StringView(v.header->key_id());
  return v;
}

std::string VerifiedRoots::KeyOf(const crypto::Ed25519PublicKey& key,
                                 uint32_t leaf_count, std::string_view root,
                                 std::string_view root_signature) {
  return merkle::RootSigningInput(leaf_count, root) + key.raw() +
         std::string(root_signature);
}

bool VerifiedRoots::Contains(const std::string& key) const {
  std::lock_guard<std::mutex> lock(mu_);
  return keys_.count(key) > 0;
}

void VerifiedRoots::Add(const std::string& key) {
  std::lock_guard<std::mutex> lock(mu_);
  ++verifications_;
  if (!keys_.insert(key).second) return;
  order_.push_back(key);
  while (order_.size() > capacity_) {
    keys_.erase(order_.front());
    order_.pop_front();
  }
}

bool VerifiedRoots::Acquire(const std::string& key) {
  std::unique_lock<std::mutex> lock(mu_);
  done_.wait(lock, [&] { return verifying_.count(key) == 0; });
  if (keys_.count(key) > 0) return true;
  verifying_.insert(key);
  return false;
}

void VerifiedRoots::Done(const std::string& key, bool verified) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    verifying_.erase(key);
  }
  if (verified) Add(key);
  done_.notify_all();
}

uint64_t VerifiedRoots::verifications() const {
  std::lock_guard<std::mutex> lock(mu_);
  return verifications_;
}

namespace {

Status VerifyBatchSeal(const EnvelopeView& v,
                       const crypto::Ed25519PublicKey& key,
                       VerifiedRoots* roots, std::string_view header_sha256) {
  const auto length =
      merkle::ProofLength(v.batch_leaf_index, v.batch_leaf_count);
  if (!length) {
    return Status::Rejected(
        RejectCode::BadBatchProof,
        "batch.leaf_index " + std::to_string(v.batch_leaf_index) +
            " does not fit batch.leaf_count " +
            std::to_string(v.batch_leaf_count) + " (1 to 65536 leaves)");
  }
  if (v.batch_path.size() != *length * merkle::kHashSize) {
    return Status::Rejected(
        RejectCode::BadBatchProof,
        "batch.path has " + std::to_string(v.batch_path.size() / 32) +
            " hashes; leaf " + std::to_string(v.batch_leaf_index) + " of " +
            std::to_string(v.batch_leaf_count) + " needs " +
            std::to_string(*length));
  }
  const std::string computed =
      header_sha256.empty() ? crypto::Sha256(v.header_bytes) : std::string();
  const auto root = merkle::RootFromProof(
      header_sha256.empty() ? std::string_view(computed) : header_sha256,
      v.batch_leaf_index, v.batch_leaf_count, v.batch_path);
  if (!root || !crypto::ConstantTimeEquals(*root, v.batch_root)) {
    return Status::Rejected(RejectCode::BadBatchProof,
                            "batch.path does not lead from the header to "
                            "batch.root");
  }
  const std::string cache_key = VerifiedRoots::KeyOf(
      key, v.batch_leaf_count, v.batch_root, v.batch_root_signature);
  if (roots != nullptr && roots->Acquire(cache_key)) return Status::OK();
  const bool verified =
      key.Verify(merkle::RootSigningInput(v.batch_leaf_count, v.batch_root),
                 v.batch_root_signature);
  if (roots != nullptr) roots->Done(cache_key, verified);
  if (!verified) {
    return Status::Rejected(RejectCode::BadSignature,
                            "batch root signature does not verify with key " +
                                std::string(v.key_id) + " of " +
                                std::string(v.sender));
  }
  return Status::OK();
}

}  // namespace

Status VerifyEnvelopeSignature(const EnvelopeView& v,
                               const crypto::Ed25519PublicKey& key,
                               VerifiedRoots* roots,
                               std::string_view header_sha256) {
  if (v.batch_sealed) return VerifyBatchSeal(v, key, roots, header_sha256);
  if (!key.Verify(EnvelopeSigningInput(v.header_bytes), v.signature)) {
    return Status::Rejected(RejectCode::BadSignature,
                            "signature does not verify with key " +
                                std::string(v.key_id) + " of " +
                                std::string(v.sender));
  }
  return Status::OK();
}

Status CheckEnvelopeTime(const EnvelopeView& v, int64_t now_ms,
                         const TimePolicy& policy) {
  const int64_t created = v.header->created_at_ms();
  const int64_t expires = v.header->expires_at_ms();
  if (created > now_ms + policy.max_clock_skew_ms) {
    return Status::Rejected(RejectCode::ClockSkew,
                            "created_at is " +
                                std::to_string((created - now_ms) / 1000) +
                                " s in the future");
  }
  if (expires <= created) {
    return Status::Rejected(RejectCode::Expired,
                            "expires_at is not after created_at");
  }
  if (expires - created > policy.max_ttl_ms) {
    return Status::Rejected(RejectCode::Expired,
                            "time to live is longer than the allowed " +
                                std::to_string(policy.max_ttl_ms / 1000) +
                                " s");
  }
  if (expires <= now_ms) {
    return Status::Rejected(RejectCode::Expired, "the message has expired");
  }
  return Status::OK();
}

Result<EnvelopeView> OpenEnvelope(std::string_view bytes,
                                  const KeyDirectory& keys, int64_t now_ms,
                                  const TimePolicy& policy, bool check_expiry,
                                  VerifiedRoots* roots) {
  RELAIS_ASSIGN_OR_RETURN(EnvelopeView v, ParseEnvelope(bytes));
  RELAIS_ASSIGN_OR_RETURN(
      const PublicSigningKey* key,
      keys.FindSigningKey(std::string(v.sender), std::string(v.key_id),
                          v.header->created_at_ms()));
  RELAIS_RETURN_IF_ERROR(VerifyEnvelopeSignature(v, key->key, roots));
  if (!check_expiry) {
    now_ms = std::min(now_ms, v.header->expires_at_ms() - 1);
  }
  RELAIS_RETURN_IF_ERROR(CheckEnvelopeTime(v, now_ms, policy));
  return v;
}

std::string PeekMessageId(std::string_view bytes) {
  const auto* env = VerifiedRoot<wire::Envelope>(bytes, kEnvelopeIdentifier,
                                                 /*verify_nested=*/false);
  if (env == nullptr) return {};
  const auto* h =
      VerifiedRoot<wire::Header>(VectorBytes(env->header()), kHeaderIdentifier);
  if (h == nullptr) return {};
  const std::string_view id = VectorBytes(h->message_id());
  return id.size() == kMessageIdSize ? std::string(id) : std::string();
}

std::vector<std::string> RecipientsOf(const EnvelopeView& v) {
  std::vector<std::string> out;
  for (const auto* r : *v.header->recipients()) out.emplace_back(StringView(r));
  return out;
}

namespace {

// The Header FlatBuffer of a draft (its message id drawn if empty).
Result<std::string> BuildHeader(const EnvelopeDraft& d, const SigningKey& key,
                                std::string* message_id) {
  // A new message's case id holds no NIR. The broker's status reports
  // follow cases that exist, some from before that rule.
  if (const std::string why = d.encoding == wire::PayloadEncoding::StatusReport
                                  ? std::string()
                                  : CaseIdProblem(d.case_id);
      !why.empty()) {
    return Status::InvalidArgument("cannot seal: case_id: " + why);
  }
  *message_id = d.message_id;
  if (message_id->empty()) {
    RELAIS_ASSIGN_OR_RETURN(*message_id, NewMessageId());
  }
  flatbuffers::FlatBufferBuilder hb(512);
  std::vector<flatbuffers::Offset<flatbuffers::String>> recipients;
  for (const auto& r : d.recipients) recipients.push_back(hb.CreateString(r));
  const auto header = wire::CreateHeader(
      hb, kEnvelopeVersion, CreateBytes(hb, *message_id),
      hb.CreateString(d.case_id), hb.CreateString(d.sender),
      hb.CreateVector(recipients), d.case_type, d.created_at_ms,
      d.expires_at_ms, CreateBytes(hb, crypto::Sha256(d.payload)), d.encoding,
      hb.CreateString(key.key_id),
      d.in_reply_to.empty() ? 0 : CreateBytes(hb, d.in_reply_to),
      d.subject_ref.empty() ? 0 : CreateBytes(hb, d.subject_ref));
  hb.Finish(header, kHeaderIdentifier);
  return BufferBytes(hb);
}

// What a batch seal adds to one envelope.
struct BatchFields {
  std::string_view root, root_signature, path;
  uint32_t leaf_index = 0, leaf_count = 0;
};

// The Envelope FlatBuffer around a header, checked as ParseEnvelope does
// (a sealed envelope must parse: InvalidArgument names the field that
// would not). Either `signature` or `batch`.
Result<SealedEnvelope> WrapEnvelope(std::string message_id,
                                    const std::string& header_bytes,
                                    std::string header_sha256,
                                    std::string_view payload,
                                    std::string_view signature,
                                    const BatchFields* batch) {
  flatbuffers::FlatBufferBuilder eb(header_bytes.size() + payload.size() +
                                    (batch ? 768 : 256));
  flatbuffers::Offset<wire::BatchSeal> seal = 0;
  if (batch != nullptr) {
    seal = wire::CreateBatchSeal(eb, CreateBytes(eb, batch->root),
                                 CreateBytes(eb, batch->root_signature),
                                 batch->leaf_index, batch->leaf_count,
                                 CreateBytes(eb, batch->path));
  }
  const auto envelope = wire::CreateEnvelope(
      eb, CreateNestedBytes(eb, header_bytes), CreateNestedBytes(eb, payload),
      signature.empty() ? 0 : CreateBytes(eb, signature), seal);
  eb.Finish(envelope, kEnvelopeIdentifier);
  SealedEnvelope out;
  out.message_id = std::move(message_id);
  out.bytes = BufferBytes(eb);
  out.header_sha256 = std::move(header_sha256);
  auto parsed = ParseEnvelope(out.bytes);
  if (!parsed.ok()) {
    return Status::InvalidArgument("cannot seal: " + parsed.status().message());
  }
  return out;
}

}  // namespace

Result<SealedEnvelope> SealEnvelope(const EnvelopeDraft& d,
                                    const SigningKey& key) {
  std::string message_id;
  RELAIS_ASSIGN_OR_RETURN(std::string header_bytes,
                          BuildHeader(d, key, &message_id));
  RELAIS_ASSIGN_OR_RETURN(std::string signature,
                          key.key.Sign(EnvelopeSigningInput(header_bytes)));
  return WrapEnvelope(std::move(message_id), header_bytes,
                      crypto::Sha256(header_bytes), d.payload, signature,
                      nullptr);
}

Result<std::vector<SealedEnvelope>> SealBatch(
    const std::vector<EnvelopeDraft>& drafts, const SigningKey& key) {
  if (drafts.empty() || drafts.size() > merkle::kMaxLeaves) {
    return Status::InvalidArgument("a batch seals 1 to 65536 envelopes, not " +
                                   std::to_string(drafts.size()));
  }
  std::vector<std::string> ids(drafts.size()), headers(drafts.size()),
      hashes(drafts.size());
  for (size_t i = 0; i < drafts.size(); ++i) {
    RELAIS_ASSIGN_OR_RETURN(headers[i], BuildHeader(drafts[i], key, &ids[i]));
    hashes[i] = crypto::Sha256(headers[i]);
  }
  const merkle::Tree tree(hashes);
  const auto count = static_cast<uint32_t>(drafts.size());
  RELAIS_ASSIGN_OR_RETURN(
      std::string root_signature,
      key.key.Sign(merkle::RootSigningInput(count, tree.root())));
  std::vector<SealedEnvelope> out;
  out.reserve(drafts.size());
  for (uint32_t i = 0; i < count; ++i) {
    const std::string path = tree.Proof(i);
    BatchFields batch{tree.root(), root_signature, path, i, count};
    RELAIS_ASSIGN_OR_RETURN(
        SealedEnvelope sealed,
        WrapEnvelope(std::move(ids[i]), headers[i], std::move(hashes[i]),
                     drafts[i].payload, {}, &batch));
    out.push_back(std::move(sealed));
  }
  return out;
}

}  // namespace relais
