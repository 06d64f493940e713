#include "core/minimise.h"

#include <flatbuffers/flatbuffers.h>

#include <algorithm>
#include <memory>
#include <utility>

#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/ids.h"
#include "schemas/cases_generated.h"

namespace relais {
namespace {

using References = std::vector<std::unique_ptr<wire::AgencyReferenceT>>;

// Cuts from one case event, in place, what `recipient` may not see, and
// says whether anything was cut. The table of docs/CASES.md ("Who gets
// which fields"), case type by case type.
class Cut {
 public:
  explicit Cut(std::string_view recipient)
      : recipient_(recipient), nir_(NirEntitled(recipient)) {}
  bool any() const { return any_; }

  void operator()(wire::CaseBodyUnion& body) {
    switch (body.type) {
      case wire::CaseBody::AddressChange:
        return AddressChange(*body.AsAddressChange());
      case wire::CaseBody::Birth:
        return Birth(*body.AsBirth());
      case wire::CaseBody::HouseholdChange:
        return HouseholdChange(*body.AsHouseholdChange());
      case wire::CaseBody::RsaApplication:
        return RsaApplication(*body.AsRsaApplication());
      case wire::CaseBody::JobSeekerStatus:
        return JobSeekerStatus(*body.AsJobSeekerStatus());
      case wire::CaseBody::ResourcesUpdate:
        return ResourcesUpdate(*body.AsResourcesUpdate());
      case wire::CaseBody::DeathNotification:
        return DeathNotification(*body.AsDeathNotification());
      case wire::CaseBody::AssistedCase:
        return AssistedCase(*body.AsAssistedCase());
      default:
        return;
    }
  }

 private:
  void AddressChange(wire::AddressChangeT& b) {
    Refs(b.references);
    Nir(b.citizen);
  }
  void Birth(wire::BirthT& b) {
    Refs(b.references);
    for (auto& parent : b.parents) Nir(parent);
  }
  void HouseholdChange(wire::HouseholdChangeT& b) {
    Refs(b.references);
    Nir(b.declarant);
    Nir(b.partner);
    for (auto& d : b.dependants) Nir(d->person);
    // The numéros fiscaux of a couple are the DGFiP's business.
    OnlyFor("dgfip", b.declarant_tax_number);
    OnlyFor("dgfip", b.partner_tax_number);
  }
  void RsaApplication(wire::RsaApplicationT& b) {
    Refs(b.references);
    Nir(b.applicant);
    for (auto& m : b.household) Nir(m->person);
    // The complémentaire santé solidaire is means-tested on the household:
    // the CPAM needs its members and resources, France Travail neither.
    OnlyFor("cpam", b.household);
    OnlyFor("cpam", b.monthly_resources_cents);
    OnlyFor("cpam", b.css_opposition);
  }
  void JobSeekerStatus(wire::JobSeekerStatusT& b) {
    Refs(b.references);
    Nir(b.citizen);
    // Unemployment benefits count in the CAF's means tests, not the CPAM's.
    OnlyFor("caf", b.payments);
  }
  void ResourcesUpdate(wire::ResourcesUpdateT& b) {
    Refs(b.references);
    Nir(b.citizen);
    for (auto& d : b.dependants) Nir(d->person);
  }
  void DeathNotification(wire::DeathNotificationT& b) {
    Refs(b.references);
    Nir(b.deceased);
  }
  void AssistedCase(wire::AssistedCaseT& b) {
    Refs(b.references);
    Nir(b.citizen);
  }

  // Agency references: only the recipient's own.
  void Refs(References& refs) {
    const size_t before = refs.size();
    std::erase_if(refs, [&](const auto& r) {
      return r == nullptr || r->agency != recipient_;
    });
    any_ |= refs.size() != before;
  }
  // The NIR only for the recipients entitled to it.
  void Nir(std::unique_ptr<wire::CitizenT>& c) {
    if (!nir_ && c != nullptr) Clear(c->nir);
  }
  template <typename T>
  void OnlyFor(std::string_view agency, T& field) {
    if (recipient_ != agency) Clear(field);
  }
  template <typename T>
  void Clear(T& field) {
    if (field == T{}) return;
    field = T{};
    any_ = true;
  }

  std::string_view recipient_;
  bool nir_;
  bool any_ = false;
};

}  // namespace

bool NirEntitled(std::string_view r) { return IsAgency(r); }

Result<std::string> MinimisedPayload(std::string_view payload,
                                     std::string_view recipient) {
  flatbuffers::Verifier verifier(
      reinterpret_cast<const uint8_t*>(payload.data()), payload.size());
  if (!wire::VerifyCaseEventBuffer(verifier)) {
    return Status::InvalidArgument("not a valid case event");
  }
  std::unique_ptr<wire::CaseEventT> event(
      wire::GetCaseEvent(payload.data())->UnPack());
  Cut cut(recipient);
  cut(event->body);
  if (!cut.any()) return std::string(payload);
  flatbuffers::FlatBufferBuilder fbb(payload.size());
  fbb.Finish(wire::CaseEvent::Pack(fbb, event.get()), kCaseEventIdentifier);
  return BufferBytes(fbb);
}

Result<std::vector<PayloadView>> ViewsFor(
    std::string_view payload, const std::vector<std::string>& recipients) {
  std::vector<PayloadView> views;
  for (const std::string& r : recipients) {
    RELAIS_ASSIGN_OR_RETURN(std::string view, MinimisedPayload(payload, r));
    auto same =
        std::find_if(views.begin(), views.end(),
                     [&](const PayloadView& v) { return v.payload == view; });
    if (same != views.end()) {
      same->recipients.push_back(r);
    } else {
      views.push_back({std::move(view), {r}});
    }
  }
  return views;
}

}  // namespace relais
