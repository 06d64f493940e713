#include "tests/support/fixtures.h"

#include <cstdlib>
#include <iostream>

#include "core/cases.h"
#include "core/clock.h"
#include "core/ids.h"

namespace relais::testing {

Identity MakeIdentityAt(const std::string& participant, int64_t now_ms) {
  auto id = GenerateIdentity(participant, now_ms - 86400000, 366);
  if (!id.ok()) {
    std::cerr << "MakeIdentity: " << id.status().ToString() << "\n";
    std::abort();
  }
  return *id;
}

Identity MakeIdentity(const std::string& participant) {
  return MakeIdentityAt(participant, Clock::System()->NowMs());
}

std::string SampleAddressChange() {
  auto bytes = CaseEventFromJson(R"({
    "body_type": "AddressChange",
    "body": {
      "citizen": {
        "nir": "284057512345672",
        "identity": {"birth_name": "MARTIN", "given_names": ["Claire", "Anne"],
                     "birth_date": "1984-05-12", "sex": "Female",
                     "birthplace_cog": "75115", "birth_country_cog": "99100"}
      },
      "effective_date": "2026-12-01",
      "old_address": {"lines": ["12 rue des Lilas"], "postcode": "75015",
                      "city": "Paris", "city_cog": "75115",
                      "country_cog": "99100"},
      "new_address": {"lines": ["4 place du Marché"], "postcode": "69003",
                      "city": "Lyon", "city_cog": "69383",
                      "country_cog": "99100"},
      "contact": {"email": "claire.martin@example.org"},
      "references": [{"agency": "caf", "identifier": "1234567", "scope": "751"}]
    }
  })");
  if (!bytes.ok()) {
    std::cerr << "SampleAddressChange: " << bytes.status().ToString() << "\n";
    std::abort();
  }
  return *bytes;
}

EnvelopeDraft SampleDraft(const std::string& sender,
                          std::vector<std::string> recipients) {
  EnvelopeDraft d;
  d.case_id = *NewCaseId(Clock::System()->NowMs());
  d.sender = sender;
  d.recipients = std::move(recipients);
  d.case_type = wire::CaseType::AddressChange;
  d.payload = SampleAddressChange();
  d.created_at_ms = Clock::System()->NowMs();
  d.expires_at_ms = d.created_at_ms + 3600 * 1000;
  return d;
}

KeyDirectory DirectoryOf(const std::vector<const Identity*>& identities) {
  KeyDirectory dir;
  for (const auto* id : identities) dir.Add(PublicOf(*id)).PermitUnchecked();
  return dir;
}

}  // namespace relais::testing
