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
#include "core/ids.h"
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
// A client of the participant of `config`, connected.
Result<std::unique_ptr<sdk::Client>> Connect(const std::string& config) {
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
  return client;
}

Result<std::string> Call(
    const std::string& config, wire::AdminOp op, const std::string& recipient,
    uint64_t sequence, uint32_t limit,
    std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  RELAIS_ASSIGN_OR_RETURN(auto client, Connect(config));
  auto reply = client->Admin(op, recipient, sequence, limit, timeout);
  client->Stop();
  return reply;
}

int Fail(const std::string& what, const Status& st) {
  std::fprintf(stderr, "relais %s: %s\n", what.c_str(), Said(st).c_str());
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
  } else if (op == wire::AdminOp::ShowDeadLetter) {
    out["envelope_bytes"] = 0;
    out["envelope_deleted"] =
        "the broker no longer holds the message: it was deleted at the end "
        "of its retention (payload_retention_days); it cannot be replayed";
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
  // A broker older than journal_syncs sends 0: one sync per batch then.
  const uint64_t syncs =
      s->journal_syncs() ? s->journal_syncs() : s->journal_batches();
  const double per_sync = syncs ? double(s->journal_submits()) / syncs : 0;
  ordered_json out = {{"journal_batches", s->journal_batches()},
                      {"journal_submits", s->journal_submits()},
                      {"journal_syncs", syncs},
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
      "  submits journaled     %llu in %llu synced batches, %llu syncs (%.1f "
      "per sync, largest batch %llu)\n"
      "  failed journal writes %llu batches\n"
      "  redeliveries          %llu\n"
      "  dead letters made     %llu\n",
      static_cast<unsigned long long>(s->sessions()),
      static_cast<unsigned long long>(s->journal_submits()),
      static_cast<unsigned long long>(s->journal_batches()),
      static_cast<unsigned long long>(syncs), per_sync,
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

namespace {

// "2026-11-30" (midnight UTC) or "2026-11-30T10:00:00Z".
Result<int64_t> ParseWhen(const std::string& flag, const std::string& text) {
  if (text.empty()) return int64_t{0};
  if (IsValidDate(text)) return ParseTimestamp(text + "T00:00:00Z");
  auto t = ParseTimestamp(text);
  if (!t.ok()) {
    return Status::InvalidArgument(
        flag + " '" + Escaped(text, 64) +
        "': a date (2026-11-30) or a UTC time (2026-11-30T10:00:00Z)");
  }
  return t;
}

// "90s", "30m", "2h", "3d".
Result<int64_t> ParseDuration(const std::string& text) {
  if (text.empty()) return int64_t{0};
  static const std::pair<char, int64_t> kUnits[] = {
      {'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
  const std::string digits = text.substr(0, text.size() - 1);
  for (const auto& [unit, ms] : kUnits) {
    if (text.back() != unit || digits.empty() || digits.size() > 6 ||
        !IsDigits(digits)) {
      continue;
    }
    return std::stoll(digits) * ms;
  }
  return Status::InvalidArgument(
      "--stuck-for '" + Escaped(text, 64) +
      "': a number and s, m, h or d (e.g. 90s, 30m, 2h, 3d)");
}

Result<wire::CaseFilterT> FilterOf(const CasesListArgs& a) {
  wire::CaseFilterT f;
  for (const auto& name : a.states) {
    bool known = false;
    for (auto s : wire::EnumValuesRecipientState()) {
      if (StateName(s) == name) {
        f.states.push_back(s);
        known = true;
      }
    }
    if (!known) {
      return Status::InvalidArgument(
          "--state '" + Escaped(name, 64) +
          "' is not one of sent, delivered, received, in_progress, done, "
          "rejected, expired, undeliverable");
    }
  }
  if (!a.case_type.empty()) {
    auto t = CaseTypeFromName(a.case_type);
    if (!t) {
      return Status::InvalidArgument("--type '" + Escaped(a.case_type, 64) +
                                     "' is not a case type (docs/CASES.md)");
    }
    f.case_type = *t;
  }
  if (!a.originator.empty() && !IsValidParticipantId(a.originator)) {
    return Status::InvalidArgument("--originator '" +
                                   Escaped(a.originator, 64) +
                                   "' is not a participant id");
  }
  f.originator = a.originator;
  RELAIS_ASSIGN_OR_RETURN(f.opened_after_ms,
                          ParseWhen("--opened-after", a.opened_after));
  RELAIS_ASSIGN_OR_RETURN(f.opened_before_ms,
                          ParseWhen("--opened-before", a.opened_before));
  if (f.opened_after_ms > 0 && f.opened_before_ms > 0 &&
      f.opened_before_ms <= f.opened_after_ms) {
    return Status::InvalidArgument(
        "--opened-before is not after --opened-after: no case could be "
        "listed");
  }
  RELAIS_ASSIGN_OR_RETURN(f.stuck_for_ms, ParseDuration(a.stuck_for));
  if (!a.after.empty() && !IsValidCaseId(a.after)) {
    return Status::InvalidArgument("--after '" + Escaped(a.after, 64) +
                                   "' is not a case id");
  }
  f.after_case_id = a.after;
  return f;
}

}  // namespace

int CasesList(const CasesListArgs& a) {
  if (!a.recipient.empty() && !IsValidParticipantId(a.recipient)) {
    return Fail("cases list", Status::InvalidArgument(
                                  "--recipient '" + Escaped(a.recipient, 64) +
                                  "' is not a participant id"));
  }
  auto filter = FilterOf(a);
  if (!filter.ok()) return Fail("cases list", filter.status());
  auto client = Connect(a.config);
  if (!client.ok()) return Fail("cases list", client.status());
  // Pages until `limit` cases or the end: relaisd reads a bounded number
  // of cases per request and says where to go on from.
  ordered_json cases = ordered_json::array();
  std::string next;
  for (;;) {
    auto frame = (*client)->Admin(wire::AdminOp::ListCases, a.recipient, 0,
                                  static_cast<uint32_t>(a.limit - cases.size()),
                                  std::chrono::seconds(30), &*filter);
    if (!frame.ok()) return Fail("cases list", frame.status());
    const wire::AdminReply* reply = ReplyOf(*frame);
    if (reply == nullptr) {
      return Fail("cases list", Status::Corruption("not an AdminReply"));
    }
    if (reply->cases() != nullptr) {
      for (const auto* c : *reply->cases()) {
        ordered_json to = ordered_json::array();
        if (c->recipients() != nullptr) {
          for (const auto* r : *c->recipients()) {
            to.push_back({{"recipient", StringView(r->recipient())},
                          {"status", StateName(r->state())},
                          {"updated_at", Iso(r->updated_at_ms())}});
          }
        }
        cases.push_back({{"case_id", StringView(c->case_id())},
                         {"case_type", CaseTypeName(c->case_type())},
                         {"originator", StringView(c->originator())},
                         {"opened_at", Iso(c->opened_at_ms())},
                         {"recipients", std::move(to)}});
      }
    }
    next = reply->more() ? std::string(StringView(reply->next_case_id())) : "";
    if (next.empty() || cases.size() >= static_cast<size_t>(a.limit)) break;
    filter->after_case_id = next;
  }
  (*client)->Stop();
  if (a.json) {
    ordered_json out = {{"cases", cases}};
    if (!next.empty()) out["next"] = next;
    std::printf("%s\n", out.dump(2).c_str());
    return 0;
  }
  std::printf("%-28s %-20s %-26s %-17s %s\n", "case", "type", "from",
              "opened (UTC)", "recipients");
  for (const auto& c : cases) {
    std::string to;
    for (const auto& r : c["recipients"]) {
      to += (to.empty() ? "" : " ") + r["recipient"].get<std::string>() + ":" +
            r["status"].get<std::string>();
    }
    std::printf(
        "%-28s %-20s %-26s %-17s %s\n", c["case_id"].get<std::string>().c_str(),
        c["case_type"].get<std::string>().c_str(),
        c["originator"].get<std::string>().c_str(),
        c["opened_at"].get<std::string>().substr(0, 16).c_str(), to.c_str());
  }
  std::printf(
      "%zu case(s)%s\n", cases.size(),
      next.empty() ? "" : ("; more after them: --after " + next).c_str());
  return 0;
}

}  // namespace relais::cli
