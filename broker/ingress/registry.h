#pragma once

// The broker's participant registry: who may connect (CURVE keys), who
// signs with which keys, and what each may send to whom (deny by default:
// sender x recipient x case type). Immutable once built; safe to read from
// any thread.

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "core/keys.h"
#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais::broker {

// One allowance: the sender may send these case types to these recipients.
// An empty set means "any" (written "*" in the configuration).
struct Route {
  std::set<std::string> to;
  std::set<wire::CaseType> case_types;
};

// How a participant subscribes to a case type (routing by subscription,
// docs/PROTOCOL.md 7.4): every case of that type, or only cases about the
// citizens it registered (SubjectRegistration).
enum class Subscription { kAll, kKnown };

struct ParticipantEntry {
  PublicIdentity identity;
  std::vector<Route> routes;
  std::map<wire::CaseType, Subscription> subscriptions;
  // May send AdminRequest frames (dead letters, stats).
  bool is_operator = false;
};

class Registry {
 public:
  // InvalidArgument on a participant listed twice, two participants sharing
  // a CURVE key, or a route naming an unregistered participant.
  static Result<Registry> Build(std::vector<ParticipantEntry> entries);

  const KeyDirectory& keys() const { return keys_; }
  bool IsRegistered(std::string_view participant) const;
  bool IsOperator(std::string_view participant) const;
  // The participant whose CURVE public key is `raw_key` (32 bytes); null if
  // none (the connection is then refused).
  const std::string* ParticipantForCurveKey(std::string_view raw_key) const;
  // Rejected(UnknownRecipient) if `recipient` is not registered,
  // Rejected(NotAuthorised) if no route of `sender` allows it.
  Status CheckRoute(std::string_view sender, std::string_view recipient,
                    wire::CaseType case_type) const;
  // The participants subscribed to `case_type`, by id.
  std::vector<std::pair<std::string, Subscription>> Subscribers(
      wire::CaseType case_type) const;
  size_t size() const { return routes_.size(); }
  // Every registered participant's id, sorted.
  std::vector<std::string> Participants() const;

 private:
  KeyDirectory keys_;
  std::map<std::string, std::string, std::less<>> by_curve_key_;
  std::map<std::string, std::vector<Route>, std::less<>> routes_;
  std::set<std::string, std::less<>> operators_;
  std::map<wire::CaseType, std::vector<std::pair<std::string, Subscription>>>
      subscribers_;
};

}  // namespace relais::broker
