#include "broker/journal/journal_format.h"

#include <algorithm>

#include "core/bytes.h"
#include "core/flatbuf.h"

namespace relais::broker::journal {

std::string OutboxKey(std::string_view recipient, uint64_t sequence) {
  std::string key = OutboxBegin(recipient);
  PutBigEndian64(&key, sequence);
  return key;
}

std::string OutboxBegin(std::string_view recipient) {
  std::string key(recipient);
  key.push_back('\0');
  return key;
}

std::string OutboxEnd(std::string_view recipient) {
  std::string key(recipient);
  key.push_back('\1');
  return key;
}

bool ParseOutboxKey(std::string_view key, std::string_view* recipient,
                    uint64_t* sequence) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') return false;
  *recipient = key.substr(0, key.size() - 9);
  *sequence = GetBigEndian64(key.data() + key.size() - 8);
  return true;
}

std::string ExpiryKey(int64_t due_ms, uint64_t sequence) {
  std::string key;
  PutBigEndian64(&key, static_cast<uint64_t>(std::max<int64_t>(0, due_ms)));
  PutBigEndian64(&key, sequence);
  return key;
}

bool ParseExpiryKey(std::string_view key, int64_t* due_ms, uint64_t* sequence) {
  if (key.size() != 16) return false;
  *due_ms = static_cast<int64_t>(GetBigEndian64(key.data()));
  *sequence = GetBigEndian64(key.data() + 8);
  return true;
}

std::string EncodePurge(std::string_view message_id,
                        const std::vector<std::string>& recipients) {
  std::string v(message_id);
  for (const auto& r : recipients) {
    v += r;
    v.push_back('\0');
  }
  return v;
}

bool DecodePurge(std::string_view value, std::string* message_id,
                 std::vector<std::string>* recipients) {
  constexpr size_t kIdSize = 16;
  if (value.size() < kIdSize) return false;
  *message_id = std::string(value.substr(0, kIdSize));
  recipients->clear();
  for (std::string_view rest = value.substr(kIdSize); !rest.empty();) {
    const size_t end = rest.find('\0');
    if (end == std::string_view::npos || end == 0) return false;
    recipients->emplace_back(rest.substr(0, end));
    rest.remove_prefix(end + 1);
  }
  return true;
}

std::string EncodeDedup(const DedupEntry& e) {
  std::string v;
  PutBigEndian64(&v, e.sequence);
  PutBigEndian64(&v, static_cast<uint64_t>(e.accepted_at_ms));
  v.append(e.header_sha256);
  v.append(e.sender);
  return v;
}

bool DecodeDedup(std::string_view v, DedupEntry* e) {
  if (v.size() < 48) return false;
  e->sequence = GetBigEndian64(v.data());
  e->accepted_at_ms = static_cast<int64_t>(GetBigEndian64(v.data() + 8));
  e->header_sha256 = std::string(v.substr(16, 32));
  e->sender = std::string(v.substr(48));
  return true;
}

const wire::DeadLetter* ParseDeadLetter(std::string_view bytes) {
  flatbuffers::Verifier v(reinterpret_cast<const uint8_t*>(bytes.data()),
                          bytes.size());
  if (!v.VerifyBuffer<wire::DeadLetter>(nullptr)) return nullptr;
  return flatbuffers::GetRoot<wire::DeadLetter>(bytes.data());
}

}  // namespace relais::broker::journal
