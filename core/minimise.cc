#include "core/minimise.h"

#include <array>
#include <nlohmann/json.hpp>

#include "core/cases.h"

namespace relais {
namespace {

using json = nlohmann::ordered_json;

struct FieldRule {
  std::string_view body;   // the case type's table, e.g. "RsaApplication"
  std::string_view field;  // a field of that table
  std::array<std::string_view, 4> only_for;  // the agencies that get it
};

// Fields a recipient gets only if it needs them (docs/CASES.md).
constexpr FieldRule kFieldRules[] = {
    // The numéros fiscaux of a couple are the DGFiP's business.
    {"HouseholdChange", "declarant_tax_number", {"dgfip"}},
    {"HouseholdChange", "partner_tax_number", {"dgfip"}},
    // The complémentaire santé solidaire is means-tested on the household:
    // the CPAM needs its members and resources, France Travail neither.
    {"RsaApplication", "household", {"cpam"}},
    {"RsaApplication", "monthly_resources_cents", {"cpam"}},
    {"RsaApplication", "css_opposition", {"cpam"}},
    // Unemployment benefits count in the CAF's means tests, not the CPAM's.
    {"JobSeekerStatus", "payments", {"caf"}},
};

bool Listed(const std::array<std::string_view, 4>& list, std::string_view a) {
  for (std::string_view x : list) {
    if (!x.empty() && x == a) return true;
  }
  return false;
}

void EraseNirs(json& j) {
  if (j.is_object()) {
    j.erase("nir");
    for (auto& [k, v] : j.items()) EraseNirs(v);
  } else if (j.is_array()) {
    for (auto& v : j) EraseNirs(v);
  }
}

}  // namespace

bool NirEntitled(std::string_view r) {
  return r == "caf" || r == "cpam" || r == "dgfip" || r == "france-travail";
}

Result<std::string> MinimisedPayload(std::string_view payload,
                                     std::string_view recipient) {
  RELAIS_ASSIGN_OR_RETURN(json event, CaseEventJson(payload));
  const json before = event;
  json& body = event["body"];
  const std::string type = event["body_type"];
  if (body.contains("references")) {
    json own = json::array();
    for (const json& r : body["references"]) {
      if (r.value("agency", "") == recipient) own.push_back(r);
    }
    if (own.empty()) {
      body.erase("references");
    } else {
      body["references"] = std::move(own);
    }
  }
  for (const FieldRule& rule : kFieldRules) {
    if (rule.body == type && !Listed(rule.only_for, recipient)) {
      body.erase(std::string(rule.field));
    }
  }
  if (!NirEntitled(recipient)) EraseNirs(body);
  if (event == before) return std::string(payload);
  return CaseEventFromJson(event.dump());
}

Result<std::vector<PayloadView>> ViewsFor(
    std::string_view payload, const std::vector<std::string>& recipients) {
  std::vector<PayloadView> views;
  for (const std::string& r : recipients) {
    RELAIS_ASSIGN_OR_RETURN(std::string view, MinimisedPayload(payload, r));
    bool placed = false;
    for (PayloadView& v : views) {
      if (v.payload == view) {
        v.recipients.push_back(r);
        placed = true;
        break;
      }
    }
    if (!placed) views.push_back({std::move(view), {r}});
  }
  return views;
}

}  // namespace relais
