#include "broker/router/routes.h"

#include <algorithm>

#include "core/ids.h"

namespace relais::broker::router {

Result<std::vector<std::string>> RouteBySubscription(
    const Registry& registry, const journal::Journal& journal,
    std::string_view sender, wire::CaseType case_type,
    std::string_view subject_ref) {
  if (!subject_ref.empty() && subject_ref.size() != kSubjectRefSize) {
    return Status::InvalidArgument(
        "a subject reference is " + std::to_string(kSubjectRefSize) +
        " bytes, not " + std::to_string(subject_ref.size()));
  }
  std::vector<std::string> holders;
  if (!subject_ref.empty()) {
    RELAIS_ASSIGN_OR_RETURN(holders, journal.SubjectHolders(subject_ref));
  }
  std::vector<std::string> recipients;
  for (const auto& [who, how] : registry.Subscribers(case_type)) {
    if (who == sender) continue;
    if (how == Subscription::kKnown &&
        !std::binary_search(holders.begin(), holders.end(), who)) {
      continue;
    }
    if (!registry.CheckRoute(sender, who, case_type).ok()) continue;
    recipients.push_back(who);
  }
  std::sort(recipients.begin(), recipients.end());
  return recipients;
}

}  // namespace relais::broker::router
