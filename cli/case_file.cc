#include "cli/case_file.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "core/case_check.h"
#include "core/cases.h"
#include "core/ids.h"
#include "core/json_positions.h"
#include "core/text.h"

namespace relais::cli {
namespace {

using json = nlohmann::json;
using Pointer = json::json_pointer;

constexpr size_t kMaxProblems = 20;

struct Problem {
  TextPosition at;
  std::string field;
  std::string what;
};

class Problems {
 public:
  Problems(const std::string& name, const JsonPositions& positions)
      : name_(name), positions_(positions) {}

  void Add(const Pointer& where, std::string field, std::string what) {
    list_.push_back({positions_.Of(where), std::move(field), std::move(what)});
  }
  bool empty() const { return list_.empty(); }

  Status ToStatus() {
    std::stable_sort(
        list_.begin(), list_.end(), [](const Problem& a, const Problem& b) {
          return a.at.line != b.at.line ? a.at.line < b.at.line
                                        : a.at.column < b.at.column;
        });
    std::string text;
    for (size_t i = 0; i < list_.size() && i < kMaxProblems; ++i) {
      const Problem& p = list_[i];
      text += (i ? "\n" : "") + name_ + ":" + std::to_string(p.at.line) + ":" +
              std::to_string(p.at.column) + ": " + p.field + ": " + p.what;
    }
    if (list_.size() > kMaxProblems) {
      text += "\n(" + std::to_string(list_.size() - kMaxProblems) +
              " more problems not shown)";
    }
    return Status::InvalidArgument(text);
  }

 private:
  const std::string& name_;
  const JsonPositions& positions_;
  std::vector<Problem> list_;
};

void CheckRecipients(const json& doc, const std::string& sender,
                     Problems& problems, CaseFile& out) {
  const Pointer at("/recipients");
  auto it = doc.find("recipients");
  if (it == doc.end()) {
    return problems.Add(
        at, "recipients",
        "missing (an array of participant ids, or \"subscribers\")");
  }
  if (it->is_string() && *it == "subscribers") {
    out.subscribers = true;
    return;
  }
  if (!it->is_array()) {
    return problems.Add(
        at, "recipients",
        "must be an array of participant ids, or \"subscribers\"");
  }
  if (it->empty() || it->size() > kMaxRecipients) {
    return problems.Add(
        at, "recipients",
        "must name 1 to " + std::to_string(kMaxRecipients) + " participants");
  }
  std::set<std::string> seen;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& r = (*it)[i];
    const std::string field = "recipients[" + std::to_string(i) + "]";
    if (!r.is_string() || !IsValidParticipantId(r.get<std::string>())) {
      problems.Add(at / i, field,
                   "not a participant id (e.g. \"caf\", "
                   "\"france-services/paris-15\")");
    } else if (r == sender) {
      problems.Add(at / i, field, "is the sender itself");
    } else if (!seen.insert(r.get<std::string>()).second) {
      problems.Add(at / i, field, "named twice");
    } else {
      out.recipients.push_back(r.get<std::string>());
    }
  }
}

}  // namespace

Result<CaseFile> ParseCaseFile(std::string_view text, const std::string& name,
                               const std::string& sender) {
  auto positions = JsonPositions::Scan(text);
  if (!positions.ok()) {
    return Status::InvalidArgument(
        name + ": not JSON: " + positions.status().message());
  }
  if (const size_t bad = InvalidUtf8At(text); bad != text.size()) {
    return Status::InvalidArgument(name + ": not UTF-8 at byte " +
                                   std::to_string(bad));
  }
  const json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded()) {  // the scanner and nlohmann disagree
    return Status::InvalidArgument(name + ": not JSON");
  }
  Problems problems(name, *positions);
  for (const Pointer& p : positions->repeated()) {
    CaseProblem repeated;
    repeated.where = p;
    problems.Add(p, repeated.Path(), "appears twice in the same object");
  }
  if (!doc.is_object()) {
    problems.Add(Pointer(), "the file",
                 "must be an object with recipients and event");
    return problems.ToStatus();
  }
  CaseFile out;
  for (const auto& [key, value] : doc.items()) {
    if (key != "case_id" && key != "recipients" && key != "ttl_hours" &&
        key != "event") {
      problems.Add(Pointer() / key, Escaped(key, 64),
                   "unknown key; a case file has case_id, recipients, "
                   "ttl_hours, event");
    }
  }
  if (auto id = doc.find("case_id"); id != doc.end()) {
    if (!id->is_string() || !CaseIdProblem(id->get<std::string>()).empty()) {
      problems.Add(Pointer("/case_id"), "case_id",
                   CaseIdProblem(id->is_string() ? id->get<std::string>()
                                                 : std::string()) +
                       " (or leave it out: one is drawn)");
    } else {
      out.case_id = id->get<std::string>();
    }
  }
  CheckRecipients(doc, sender, problems, out);
  if (auto ttl = doc.find("ttl_hours"); ttl != doc.end()) {
    if (!ttl->is_number_integer() || ttl->get<int64_t>() < 1 ||
        ttl->get<int64_t>() > kMaxTtlHours) {
      problems.Add(Pointer("/ttl_hours"), "ttl_hours",
                   "must be a whole number of hours from 1 to " +
                       std::to_string(kMaxTtlHours));
    } else {
      out.ttl_hours = ttl->get<int>();
    }
  }
  auto event = doc.find("event");
  if (event == doc.end()) {
    problems.Add(Pointer("/event"), "event",
                 "missing (the case event: {\"body_type\": ..., \"body\": "
                 "{...}})");
    return problems.ToStatus();
  }
  RELAIS_ASSIGN_OR_RETURN(std::vector<CaseProblem> found,
                          CheckCaseEventJson(*event));
  for (const CaseProblem& p : found) {
    const std::string path = p.Path();
    problems.Add(Pointer("/event") / p.where,
                 path.empty() ? "event" : "event." + path, p.what);
  }
  if (!problems.empty()) return problems.ToStatus();
  auto payload = CaseEventFromJson(event->dump());
  if (!payload.ok()) {
    return Status::InvalidArgument(name +
                                   ": event: " + payload.status().message());
  }
  out.payload = std::move(*payload);
  const auto* e = flatbuffers::GetRoot<wire::CaseEvent>(out.payload.data());
  out.case_type = static_cast<wire::CaseType>(e->body_type());
  return out;
}

}  // namespace relais::cli
