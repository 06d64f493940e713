// relais dead-letters list|show|replay|drop and relais stats: operator
// requests (AdminRequest frames) to relaisd, from a participant with the
// "operator" role.

#include <cstdio>
#include <nlohmann/json.hpp>

#include "adapters/sdk/client.h"
#include "adapters/sdk/client_config.h"
#include "cli/case_render.h"
#include "cli/commands.h"
#include "core/bytes.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/frame.h"
#include "core/text.h"

namespace relais::cli {
namespace {

using nlohmann::ordered_json;

std::string Iso(int64_t ms) { return FormatTimestamp(ms); }

ordered_json DeadLetterJson(const wire::DeadLetter& d) {
  return {{"recipient", StringView(d.recipient())},
          {"sequence", d.sequence()},
          {"message_id", HexEncode(VectorBytes(d.message_id()))},
          {"case_id", StringView(d.case_id())},
          {"sender", StringView(d.sender())},
          {"case_type", CaseTypeName(d.case_type())},
          {"reason", StateName(d.reason())},
          {"attempts", d.attempts()},
          {"dead_at", Iso(d.dead_at_ms())},
          {"expires_at", Iso(d.expires_at_ms())},
          {"detail", StringView(d.detail())}};
}

// Sends one AdminRequest with the operator's client configuration and
// returns the AdminReply frame, or why not.
Result<std::string> Call(
    const std::string& config, wire::AdminOp op, const std::string& recipient,
    uint64_t sequence, uint32_t limit,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  RELAIS_ASSIGN_OR_RETURN(sdk::ParticipantConfig c,
                          sdk::LoadParticipantConfig(config));
  sdk::ClientOptions options = c.client;
  options.window = 0;
  options.state_dir.clear();  // one-shot, like case_commands.cc
  const std::string endpoint = options.endpoint;
  RELAIS_ASSIGN_OR_RETURN(auto client, sdk::Client::Start(std::move(options)));
  if (Status st = client->WaitConnected(std::chrono::seconds(10)); !st.ok()) {
    if (st.code() != Status::Code::kTimeout) return st;
    return Status::Timeout("could not reach relaisd at " + endpoint +
                           " within 10 s; nothing was sent");
  }
  auto reply = client->Admin(op, recipient, sequence, limit, timeout);
  client->Stop();
  return reply;
}

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "relais %s: %s\n", what.c_str(), st.ToString().c_str());
  return ExitCodeOf(st);
}

const wire::AdminReply* ReplyOf(const std::string& frame) {
  auto f = ParseFrame(frame);
  return f.ok() ? (*f)->body_as_AdminReply() : nullptr;
}

}  // namespace

int DeadLetters(const DeadLettersArgs& a) {
  const wire::AdminOp op = a.action == "list"   ? wire::AdminOp::ListDeadLetters
                           : a.action == "show" ? wire::AdminOp::ShowDeadLetter
                           : a.action == "replay"
                               ? wire::AdminOp::ReplayDeadLetter
                               : wire::AdminOp::DropDeadLetter;
  if (op != wire::AdminOp::ListDeadLetters && a.recipient.empty()) {
    std::fprintf(stderr, "relais dead-letters %s: needs RECIPIENT SEQUENCE\n",
                 a.action.c_str());
    return 2;
  }
  auto frame = Call(a.config, op, a.recipient, a.sequence, a.limit);
  if (!frame.ok()) return Fail("dead-letters " + a.action, frame.status());
  const wire::AdminReply* reply = ReplyOf(*frame);
  if (reply == nullptr) {
    return Fail("dead-letters " + a.action,
                Status::Corruption("the broker's reply is not an AdminReply"));
  }
  ordered_json items = ordered_json::array();
  if (reply->dead_letters()) {
    for (const auto* d : *reply->dead_letters())
      items.push_back(DeadLetterJson(*d));
  }
  if (op == wire::AdminOp::ListDeadLetters) {
    if (a.json) {
      std::printf("%s\n",
                  ordered_json{{"dead_letters", items}, {"more", reply->more()}}
                      .dump(2)
                      .c_str());
      return 0;
    }
    if (items.empty()) std::printf("no dead letters\n");
    for (const auto& d : items) {
      std::printf(
          "%-24s %8llu  %-14s %-28s %s  %s\n",
          d["recipient"].get<std::string>().c_str(),
          static_cast<unsigned long long>(d["sequence"].get<uint64_t>()),
          d["reason"].get<std::string>().c_str(),
          d["case_id"].get<std::string>().c_str(),
          d["dead_at"].get<std::string>().c_str(),
          Escaped(d["detail"].get<std::string>()).c_str());
    }
    if (reply->more())
      std::printf("(more: use --after with the last sequence)\n");
    return 0;
  }
  ordered_json out = items.empty() ? ordered_json::object() : items[0];
  if (op == wire::AdminOp::ShowDeadLetter && reply->envelope()) {
    auto v = ParseEnvelope(VectorBytes(reply->envelope()));
    if (v.ok() &&
        v->header->payload_encoding() == wire::PayloadEncoding::CaseEvent) {
      auto event = CaseEventToJson(v->payload);
      if (event.ok()) out["event"] = ordered_json::parse(*event);
    }
    out["envelope_bytes"] = reply->envelope()->size();
  }
  if (op == wire::AdminOp::ReplayDeadLetter) out["replayed"] = true;
  if (op == wire::AdminOp::DropDeadLetter) out["dropped"] = true;
  std::printf("%s\n", out.dump(2).c_str());
  return 0;
}

int Stats(const StatsArgs& a) {
  auto frame = Call(a.config, wire::AdminOp::Stats, {}, 0, 0);
  if (!frame.ok()) return Fail("stats", frame.status());
  const wire::AdminReply* reply = ReplyOf(*frame);
  if (reply == nullptr || reply->stats() == nullptr) {
    return Fail("stats", Status::Corruption("the reply holds no stats"));
  }
  const auto* s = reply->stats();
  const double per_sync =
      s->journal_batches() ? double(s->journal_submits()) / s->journal_batches()
                           : 0;
  ordered_json out = {{"journal_batches", s->journal_batches()},
                      {"journal_submits", s->journal_submits()},
                      {"submits_per_sync", per_sync},
                      {"journal_largest_batch", s->journal_largest_batch()},
                      {"journal_failed_batches", s->journal_failed_batches()},
                      {"dead_letters_made", s->dead_letters_made()},
                      {"redeliveries", s->redeliveries()},
                      {"sessions", s->sessions()}};
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf(
      "relaisd (counters since it started)\n"
      "  sessions open         %llu\n"
      "  submits journaled     %llu in %llu synced batches (%.1f per sync, "
      "largest %llu)\n"
      "  failed journal writes %llu batches\n"
      "  redeliveries          %llu\n"
      "  dead letters made     %llu\n",
      static_cast<unsigned long long>(s->sessions()),
      static_cast<unsigned long long>(s->journal_submits()),
      static_cast<unsigned long long>(s->journal_batches()), per_sync,
      static_cast<unsigned long long>(s->journal_largest_batch()),
      static_cast<unsigned long long>(s->journal_failed_batches()),
      static_cast<unsigned long long>(s->redeliveries()),
      static_cast<unsigned long long>(s->dead_letters_made()));
  return 0;
}

int Backup(const BackupArgs& a) {
  auto frame = Call(a.config, wire::AdminOp::Backup, {}, 0, 0,
                    std::chrono::seconds(a.timeout_s));
  if (!frame.ok()) {
    if (frame.status().code() == Status::Code::kTimeout) {
      std::fprintf(stderr,
                   "relais backup: no answer within %d s; relaisd may still be "
                   "making it (its log says when it is done)\n",
                   a.timeout_s);
      return kExitNoAnswer;
    }
    return Fail("backup", frame.status());
  }
  const wire::AdminReply* reply = ReplyOf(*frame);
  if (reply == nullptr || reply->backup() == nullptr) {
    return Fail("backup", Status::Corruption("the reply holds no backup"));
  }
  const auto* b = reply->backup();
  const ordered_json out = {{"folder", std::string(StringView(b->folder()))},
                            {"sequence", b->sequence()},
                            {"bytes", b->bytes()},
                            {"made_at_ms", b->made_at_ms()}};
  if (a.json) {
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf(
      "backup made in %s (on relaisd's machine)\n"
      "  every message accepted up to sequence %llu, %.1f MiB\n"
      "  restore: docs/OPERATIONS.md, \"Backup and restore\"\n",
      std::string(StringView(b->folder())).c_str(),
      static_cast<unsigned long long>(b->sequence()),
      static_cast<double>(b->bytes()) / (1 << 20));
  return 0;
}

}  // namespace relais::cli
