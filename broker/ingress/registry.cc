#include "broker/ingress/registry.h"

#include "core/bytes.h"
#include "core/cases.h"

namespace relais::broker {

Result<Registry> Registry::Build(std::vector<ParticipantEntry> entries) {
  Registry r;
  for (auto& e : entries) {
    const std::string id = e.identity.participant;
    auto raw = Z85Decode(e.identity.curve_public_z85);
    if (!raw.ok() || raw->size() != 32) {
      return Status::InvalidArgument("participant '" + id +
                                     "' has a malformed CURVE key");
    }
    if (!r.by_curve_key_.emplace(*raw, id).second) {
      return Status::InvalidArgument("participant '" + id +
                                     "' shares its CURVE key with '" +
                                     r.by_curve_key_[*raw] + "'");
    }
    r.routes_[id] = std::move(e.routes);
    for (const auto& [type, how] : e.subscriptions) {
      r.subscribers_[type].emplace_back(id, how);
    }
    if (e.is_operator) r.operators_.insert(id);
    RELAIS_RETURN_IF_ERROR(r.keys_.Add(std::move(e.identity)));
  }
  for (const auto& [sender, routes] : r.routes_) {
    for (const auto& route : routes) {
      for (const auto& to : route.to) {
        if (!r.IsRegistered(to)) {
          return Status::InvalidArgument("a route of '" + sender +
                                         "' names unknown participant '" + to +
                                         "'");
        }
      }
    }
  }
  return r;
}

bool Registry::IsOperator(std::string_view participant) const {
  return operators_.find(participant) != operators_.end();
}

bool Registry::IsRegistered(std::string_view participant) const {
  return routes_.find(participant) != routes_.end();
}

const std::string* Registry::ParticipantForCurveKey(
    std::string_view raw) const {
  auto it = by_curve_key_.find(raw);
  return it == by_curve_key_.end() ? nullptr : &it->second;
}

std::vector<std::pair<std::string, Subscription>> Registry::Subscribers(
    wire::CaseType case_type) const {
  auto it = subscribers_.find(case_type);
  return it == subscribers_.end()
             ? std::vector<std::pair<std::string, Subscription>>{}
             : it->second;
}

Status Registry::CheckRoute(std::string_view sender, std::string_view recipient,
                            wire::CaseType case_type) const {
  if (!IsRegistered(recipient)) {
    return Status::Rejected(wire::RejectCode::UnknownRecipient,
                            "recipient '" + std::string(recipient) +
                                "' is not a registered participant");
  }
  auto it = routes_.find(sender);
  if (it != routes_.end()) {
    for (const auto& route : it->second) {
      const bool to_ok =
          route.to.empty() || route.to.count(std::string(recipient)) > 0;
      const bool type_ok =
          route.case_types.empty() || route.case_types.count(case_type) > 0;
      if (to_ok && type_ok) return Status::OK();
    }
  }
  return Status::Rejected(wire::RejectCode::NotAuthorised,
                          "'" + std::string(sender) + "' may not send " +
                              std::string(CaseTypeName(case_type)) + " to '" +
                              std::string(recipient) + "'");
}

std::vector<std::string> Registry::Participants() const {
  std::vector<std::string> ids;
  for (const auto& [id, routes] : routes_) ids.push_back(id);
  return ids;
}

}  // namespace relais::broker
