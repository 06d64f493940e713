#pragma once

// On-disk layout of the journal (docs/ARCHITECTURE.md, "The journal's
// column families"). Keys are big-endian so that RocksDB's bytewise order is
// numeric order.
//
//   family    key                               value
//   messages  message id (16 bytes)             the envelope as received
//   outbox    recipient, 0x00, sequence (BE64)  message id (pending delivery),
//                                               then 0x01 if replayed
//   dead      recipient, 0x00, sequence (BE64)  DeadLetter FlatBuffer
//                                               (frames.fbs, no identifier)
//   expiry    expires_at_ms (BE64), sequence    message id (one per message;
//             (BE64)                            swept once expired)
//   purge     from_ms (BE64), sequence (BE64)   message id (16 bytes), then
//                                               its recipients, each ended by
//                                               0x00: the envelope is deleted
//                                               payload_retention after
//                                               from_ms (its expiry, or the
//                                               end of a replayed delivery)
//   dedup     message id                        DedupEntry (requests.h)
//   cases     case id                           CaseState FlatBuffer (RLS1)
//   audit     sequence (BE64)                   AuditRecord FlatBuffer (RLA1)
//   meta      name                              see kMeta* below

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/journal/requests.h"
#include "schemas/frames_generated.h"

namespace relais::broker::journal {

inline constexpr char kMessagesFamily[] = "messages";
inline constexpr char kOutboxFamily[] = "outbox";
inline constexpr char kDedupFamily[] = "dedup";
inline constexpr char kCasesFamily[] = "cases";
inline constexpr char kAuditFamily[] = "audit";
inline constexpr char kMetaFamily[] = "meta";
inline constexpr char kDeadFamily[] = "dead";
inline constexpr char kExpiryFamily[] = "expiry";
inline constexpr char kPurgeFamily[] = "purge";
// subjects: subject_ref (32 bytes) || participant id -> BE64 registered_at_ms
// (the reference directory: who holds a file on which citizen).
inline constexpr char kSubjectsFamily[] = "subjects";

// meta: "schema_version" -> BE64, the layout version of this file (1).
inline constexpr char kMetaSchemaVersion[] = "schema_version";
// meta: "next_sequence" -> BE64, the next message sequence to assign.
inline constexpr char kMetaNextSequence[] = "next_sequence";
// meta: "audit_head" -> BE64 last audit sequence || 32-byte hash of it.
inline constexpr char kMetaAuditHead[] = "audit_head";
inline constexpr uint64_t kSchemaVersion = 1;

std::string OutboxKey(std::string_view recipient, uint64_t sequence);
// [OutboxBegin(r), OutboxEnd(r)) holds exactly recipient r's entries.
std::string OutboxBegin(std::string_view recipient);
std::string OutboxEnd(std::string_view recipient);
// Splits an outbox key; false if it is not one.
bool ParseOutboxKey(std::string_view key, std::string_view* recipient,
                    uint64_t* sequence);

// A purge value: the message id, then each recipient ended by 0x00.
std::string EncodePurge(std::string_view message_id,
                        const std::vector<std::string>& recipients);
// False if `value` is not one.
bool DecodePurge(std::string_view value, std::string* message_id,
                 std::vector<std::string>* recipients);

// The key of the expiry and purge families: a time, then a sequence.
std::string ExpiryKey(int64_t due_ms, uint64_t sequence);
bool ParseExpiryKey(std::string_view key, int64_t* due_ms, uint64_t* sequence);

// dedup value: sequence (BE64) || accepted_at_ms (BE64) || header SHA-256
// (32 bytes) || sender id.
std::string EncodeDedup(const DedupEntry& entry);
// False if `value` is too short to be one.
bool DecodeDedup(std::string_view value, DedupEntry* entry);

// The DeadLetter table of a `dead` value; null if it does not verify.
const wire::DeadLetter* ParseDeadLetter(std::string_view bytes);

}  // namespace relais::broker::journal
