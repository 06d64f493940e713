#include "adapters/france_services/case_requests.h"

#include <set>

#include "adapters/france_services/api_requests.h"
#include "core/bytes.h"
#include "core/clock.h"
#include "core/ids.h"
#include "core/text.h"

namespace relais::console {
namespace {

bool IsRequestId(std::string_view v) {
  if (v.size() < 16 || v.size() > 64) return false;
  for (char c : v) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
                    (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

Status Refused(const std::string& message) {
  return Status::InvalidArgument(message);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// "%C3%A9t%C3%A9+2" -> "été 2"; nullopt for a broken escape.
std::optional<std::string> PercentDecoded(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] != '%') {
      out += s[i];
    } else {
      if (i + 2 >= s.size()) return std::nullopt;  // "%", "%4" at the end
      const int hi = HexDigit(s[i + 1]);
      const int lo = HexDigit(s[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      out += static_cast<char>(hi * 16 + lo);
      i += 2;
    }
  }
  return out;
}

Result<std::vector<std::string>> Recipients(const nlohmann::json& v) {
  if (!v.is_array() || v.empty() || v.size() > kMaxCaseRecipients) {
    return Refused(
        "« recipients » doit être une liste de 1 à 32 organismes (ou être "
        "absent : les organismes concernés sont alors trouvés par "
        "abonnement).");
  }
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const auto& r : v) {
    if (!r.is_string() || !IsValidParticipantId(r.get<std::string>())) {
      return Refused(
          "« recipients » contient un organisme qui n'en est pas "
          "un (position " +
          std::to_string(out.size() + 1) + ").");
    }
    // A France services site hands cases to the agencies only (relaisd's
    // routes refuse anything else, after the check said nothing).
    if (!IsAgency(r.get<std::string>())) {
      return Refused(
          "« recipients » nomme un destinataire qui n'est pas un organisme "
          "(position " +
          std::to_string(out.size() + 1) +
          ") : les organismes sont caf, cpam, dgfip et france-travail.");
    }
    if (!seen.insert(r.get<std::string>()).second) {
      return Refused("« recipients » nomme deux fois le même organisme.");
    }
    out.push_back(r.get<std::string>());
  }
  return out;
}

Status Mandate(const nlohmann::json& v, CaseRequest* r) {
  if (!v.is_object()) {
    return Refused("« mandate » doit être un objet avec « kind » et « date ».");
  }
  for (const auto& [key, value] : v.items()) {
    if (key != "kind" && key != "date") {
      return Refused(
          "« mandate » contient un champ inconnu : seuls « kind » "
          "et « date » sont attendus.");
    }
    if (!value.is_string()) {
      return Refused("« mandate." + key + " » doit être un texte.");
    }
  }
  r->mandate_kind = v.value("kind", "");
  r->mandate_date = v.value("date", "");
  if (r->mandate_kind != "Oral" && r->mandate_kind != "Written") {
    return Refused(
        "Indiquez le mandat donné par la personne : oral "
        "(« Oral ») ou écrit (« Written »).");
  }
  if (!IsValidDate(r->mandate_date)) {
    return Refused("Indiquez la date du mandat (AAAA-MM-JJ).");
  }
  return Status::OK();
}

std::string KiB(size_t bytes) { return std::to_string(bytes / 1024) + " Kio"; }

Status Attachments(const nlohmann::json& v, size_t max_bytes, CaseRequest* r) {
  if (!v.is_array() || v.size() > kMaxAttachments) {
    return Refused(
        "« attachments » doit être une liste de 10 pièces jointes au plus.");
  }
  size_t total = 0;
  for (const auto& a : v) {
    const std::string which =
        "La pièce jointe n° " + std::to_string(r->attachments.size() + 1);
    if (!a.is_object()) return Refused(which + " doit être un objet.");
    for (const auto& [key, value] : a.items()) {
      if (key != "name" && key != "media_type" && key != "content_base64") {
        return Refused(which +
                       " contient un champ inconnu : seuls « name », "
                       "« media_type » et « content_base64 » sont attendus.");
      }
      if (!value.is_string()) {
        return Refused(which + " : « " + key + " » doit être un texte.");
      }
    }
    AttachmentFile f;
    f.name = a.value("name", "");
    f.media_type = a.value("media_type", "");
    if (!CheckAttachmentName(f.name).ok()) {
      return Refused(which +
                     " doit avoir un nom de 1 à 100 caractères, sans « / » "
                     "ni « \\ », qui ne commence pas par un point.");
    }
    if (!IsAttachmentMediaType(f.media_type)) {
      return Refused(which +
                     " doit être un document PDF ou une image PNG ou JPEG.");
    }
    auto content = Base64Decode(a.value("content_base64", ""));
    if (!content.ok()) {
      return Refused(which + " est mal encodée (base64 attendu).");
    }
    if (content->empty()) return Refused(which + " est vide.");
    if (SniffMediaType(*content) != f.media_type) {
      return Refused(which +
                     " n'est pas ce qu'elle annonce : son contenu n'est pas "
                     "celui d'un document PDF, PNG ou JPEG de ce type.");
    }
    total += content->size();
    if (total > max_bytes) {
      return Refused("Les pièces jointes dépassent " + KiB(max_bytes) +
                     " au total : retirez-en ou réduisez-les.");
    }
    f.content = std::move(*content);
    r->attachments.push_back(std::move(f));
  }
  return Status::OK();
}

}  // namespace

Result<CaseRequest> ParseCaseRequest(std::string_view body, bool opening,
                                     size_t max_attachment_bytes) {
  if (body.size() > MaxOpeningBytes(max_attachment_bytes)) {
    return Refused("Le dossier est trop volumineux (" +
                   KiB(max_attachment_bytes) + " de pièces jointes au plus).");
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Refused("La demande n'est pas un objet JSON.");
  }
  RELAIS_RETURN_IF_ERROR(RefuseRepeatedKeys(body));
  CaseRequest r;
  for (auto& [key, value] : j.items()) {
    if (key == "request_id") {
      if (!value.is_string() || !IsRequestId(value.get<std::string>())) {
        return Refused(
            "« request_id » doit compter 16 à 64 lettres, "
            "chiffres, « - » ou « _ ».");
      }
      r.request_id = value.get<std::string>();
    } else if (key == "event") {
      if (!value.is_object()) {
        return Refused("« event » doit être un objet { body_type, body }.");
      }
      r.event = std::move(value);
    } else if (key == "recipients") {
      RELAIS_ASSIGN_OR_RETURN(r.recipients, Recipients(value));
    } else if (key == "mandate") {
      RELAIS_RETURN_IF_ERROR(Mandate(value, &r));
    } else if (key == "attachments") {
      RELAIS_RETURN_IF_ERROR(Attachments(value, max_attachment_bytes, &r));
    } else {
      return Refused(
          "La demande contient un champ inconnu : seuls "
          "« request_id », « event », « recipients », « mandate » et "
          "« attachments » sont attendus.");
    }
  }
  size_t encoded = 0;  // the attachments' base64, within the body's size
  for (const auto& a : r.attachments) encoded += (a.content.size() + 2) / 3 * 4;
  if (body.size() > kMaxCaseRequestBytes + encoded + kMaxAttachments * 512) {
    return Refused(
        "Le dossier est trop volumineux (64 Kio au plus, sans ses "
        "pièces jointes).");
  }
  if (opening && r.request_id.empty()) {
    return Refused(
        "« request_id » manque : il évite d'ouvrir deux fois le "
        "même dossier.");
  }
  if (r.event.is_null()) return Refused("« event » manque.");
  if (r.mandate_kind.empty()) {
    return Refused("Indiquez le mandat donné par la personne (« mandate »).");
  }
  return r;
}

Result<ListQuery> ParseListQuery(std::string_view query) {
  ListQuery out;
  bool seen[3] = {false, false, false};
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (pair.empty()) continue;
    const size_t eq = pair.find('=');
    const std::string_view key = pair.substr(0, eq);
    auto value =
        PercentDecoded(eq == std::string_view::npos ? std::string_view()
                                                    : pair.substr(eq + 1));
    const int which = key == "state"   ? 0
                      : key == "q"     ? 1
                      : key == "limit" ? 2
                                       : -1;
    if (which < 0) {
      return Refused(
          "La recherche accepte « state », « q » et « limit » "
          "seulement.");
    }
    if (seen[which]) return Refused("Un critère de recherche est répété.");
    seen[which] = true;
    if (!value || value->size() > 200 ||
        InvalidUtf8At(*value) != value->size() || !IsCleanText(*value)) {
      return Refused("Un critère de recherche n'est pas un texte valable.");
    }
    if (which == 0) out.state = std::move(*value);
    if (which == 1) out.q = std::move(*value);
    if (which == 2) {
      size_t n = 0;
      for (char c : *value) {
        if (c < '0' || c > '9' || n > 1000) {
          n = 0;
          break;
        }
        n = n * 10 + static_cast<size_t>(c - '0');
      }
      if (n < 1 || n > 500) {
        return Refused("« limit » doit être un nombre de 1 à 500.");
      }
      out.limit = n;
    }
  }
  return out;
}

}  // namespace relais::console
