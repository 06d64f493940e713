#include "cli/case_render.h"

#include <cstdio>

#include "core/bytes.h"
#include "core/cases.h"
#include "core/clock.h"
#include "core/flatbuf.h"

namespace relais::cli {
namespace {

std::string_view EventName(wire::TraceEvent e) {
  switch (e) {
    case wire::TraceEvent::Accepted:
      return "accepted";
    case wire::TraceEvent::Delivered:
      return "delivered";
    case wire::TraceEvent::Rejected:
      return "rejected";
    case wire::TraceEvent::Expired:
      return "expired";
    case wire::TraceEvent::DeadLettered:
      return "dead_lettered";
    case wire::TraceEvent::Purged:
      return "purged";
    case wire::TraceEvent::Replayed:
      return "replayed";
    case wire::TraceEvent::Received:
      return "received";
    case wire::TraceEvent::InProgress:
      return "in_progress";
    case wire::TraceEvent::Done:
      return "done";
    case wire::TraceEvent::PayloadDeleted:
      return "payload_deleted";
    default:
      return "unknown";
  }
}

}  // namespace

std::string_view StateName(wire::RecipientState s) {
  switch (s) {
    case wire::RecipientState::Sent:
      return "sent";
    case wire::RecipientState::Delivered:
      return "delivered";
    case wire::RecipientState::Received:
      return "received";
    case wire::RecipientState::InProgress:
      return "in_progress";
    case wire::RecipientState::Done:
      return "done";
    case wire::RecipientState::Rejected:
      return "rejected";
    case wire::RecipientState::Expired:
      return "expired";
    case wire::RecipientState::Undeliverable:
      return "undeliverable";
  }
  return "unknown";
}

int StateRank(wire::RecipientState s) {
  const int n = static_cast<int>(s);
  return n <= static_cast<int>(wire::RecipientState::Done) ? n : -1;
}

int StateRankOf(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(wire::RecipientState::Done); ++i) {
    if (StateName(static_cast<wire::RecipientState>(i)) == name) return i;
  }
  return -1;
}

nlohmann::json CaseStateToJson(const wire::CaseState& s) {
  nlohmann::json out = {{"case_id", StringView(s.case_id())},
                        {"case_type", CaseTypeName(s.case_type())},
                        {"originator", StringView(s.originator())},
                        {"opened_at", FormatTimestamp(s.opened_at_ms())}};
  nlohmann::json recipients = nlohmann::json::array();
  if (s.recipients()) {
    for (const auto* r : *s.recipients()) {
      nlohmann::json j = {{"recipient", StringView(r->recipient())},
                          {"status", StateName(r->state())},
                          {"updated_at", FormatTimestamp(r->updated_at_ms())}};
      if (r->reason() && r->reason()->size())
        j["reason"] = StringView(r->reason());
      recipients.push_back(std::move(j));
    }
  }
  nlohmann::json trail = nlohmann::json::array();
  if (s.trail()) {
    for (const auto* t : *s.trail()) {
      nlohmann::json j = {
          {"at", FormatTimestamp(t->at_ms())},
          {"event", EventName(t->event())},
          {"party", StringView(t->party())},
          {"message_id", HexEncode(VectorBytes(t->message_id()))},
          {"sequence", t->sequence()}};
      if (t->detail() && t->detail()->size())
        j["detail"] = StringView(t->detail());
      trail.push_back(std::move(j));
    }
  }
  out["recipients"] = std::move(recipients);
  out["trail"] = std::move(trail);
  return out;
}

std::string CaseStateToText(const wire::CaseState& s) {
  const nlohmann::json j = CaseStateToJson(s);
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "case %s (%s), opened by %s at %s\n\n",
                j["case_id"].get<std::string>().c_str(),
                j["case_type"].get<std::string>().c_str(),
                j["originator"].get<std::string>().c_str(),
                j["opened_at"].get<std::string>().c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-26s %-12s %s\n", "recipient", "status",
                "since");
  out += line;
  for (const auto& r : j["recipients"]) {
    std::snprintf(line, sizeof line, "  %-26s %-12s %s%s%s\n",
                  r["recipient"].get<std::string>().c_str(),
                  r["status"].get<std::string>().c_str(),
                  r["updated_at"].get<std::string>().c_str(),
                  r.contains("reason") ? "  " : "",
                  r.value("reason", std::string()).c_str());
    out += line;
  }
  out += "\ntrail:\n";
  for (const auto& t : j["trail"]) {
    std::snprintf(
        line, sizeof line, "  %s  %-10s %-26s message %.16s… seq %llu%s%s\n",
        t["at"].get<std::string>().c_str(),
        t["event"].get<std::string>().c_str(),
        t["party"].get<std::string>().c_str(),
        t["message_id"].get<std::string>().c_str(),
        static_cast<unsigned long long>(t["sequence"].get<uint64_t>()),
        t.contains("detail") ? "  " : "",
        t.value("detail", std::string()).c_str());
    out += line;
  }
  return out;
}

}  // namespace relais::cli
