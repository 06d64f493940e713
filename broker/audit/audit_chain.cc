#include "broker/audit/audit_chain.h"

#include "core/bytes.h"
#include "core/crypto.h"
#include "core/flatbuf.h"

namespace relais::broker::audit {

std::string EncodeHead(const AuditHead& head) {
  std::string v;
  PutBigEndian64(&v, head.sequence);
  v.append(head.hash);
  return v;
}

Result<AuditHead> DecodeHead(std::string_view value) {
  if (value.size() != 40)
    return Status::Corruption("audit head is not 40 bytes");
  AuditHead head;
  head.sequence = GetBigEndian64(value.data());
  head.hash = std::string(value.substr(8));
  return head;
}

std::string AuditChain::Append(const AuditEntry& e) {
  flatbuffers::FlatBufferBuilder fbb(256);
  const auto record = wire::CreateAuditRecord(
      fbb, head_.sequence + 1, e.at_ms, e.event, CreateBytes(fbb, e.message_id),
      fbb.CreateString(e.case_id), fbb.CreateString(e.party),
      e.header_sha256.empty() ? 0 : CreateBytes(fbb, e.header_sha256),
      e.detail.empty() ? 0 : fbb.CreateString(e.detail),
      CreateBytes(fbb, head_.hash));
  fbb.Finish(record, kAuditIdentifier);
  std::string bytes = BufferBytes(fbb);
  head_.sequence += 1;
  head_.hash = crypto::Sha256(bytes);
  return bytes;
}

Result<AuditHead> VerifyChain(const AuditHead& start,
                              const std::vector<std::string>& records) {
  AuditHead head = start;
  for (const auto& bytes : records) {
    const uint64_t expected = head.sequence + 1;
    const auto* r = VerifiedRoot<wire::AuditRecord>(bytes, kAuditIdentifier);
    if (r == nullptr) {
      return Status::Corruption("audit record " + std::to_string(expected) +
                                " is not a valid AuditRecord");
    }
    if (r->sequence() != expected) {
      return Status::Corruption("audit record " + std::to_string(expected) +
                                " carries sequence " +
                                std::to_string(r->sequence()));
    }
    if (VectorBytes(r->prev_hash()) != head.hash) {
      return Status::Corruption("audit record " + std::to_string(expected) +
                                " does not link to the record before it");
    }
    head.sequence = expected;
    head.hash = crypto::Sha256(bytes);
  }
  return head;
}

}  // namespace relais::broker::audit
