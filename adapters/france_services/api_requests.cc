#include "adapters/france_services/api_requests.h"

#include <nlohmann/json.hpp>

#include "core/json_positions.h"

namespace relais::console {
namespace {

constexpr size_t kTokenHexDigits = 64;

bool IsToken(std::string_view v) {
  if (v.size() != kTokenHexDigits) return false;
  for (char c : v) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string_view Trimmed(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

Status RefuseRepeatedKeys(std::string_view body) {
  const std::optional<TextPosition> at = RepeatedKeyAt(body);
  if (!at) return Status::OK();
  return Status::InvalidArgument(
      "Une même clé figure deux fois dans un objet de la demande (ligne " +
      std::to_string(at->line) + ", colonne " + std::to_string(at->column) +
      ").");
}

Result<SignInRequest> ParseSignIn(std::string_view body) {
  if (body.size() > kMaxSignInBytes) {
    return Status::InvalidArgument("La demande de connexion est trop longue.");
  }
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return Status::InvalidArgument(
        "La demande de connexion n'est pas un objet JSON.");
  }
  RELAIS_RETURN_IF_ERROR(RefuseRepeatedKeys(body));
  SignInRequest r;
  for (const auto& [key, value] : j.items()) {
    std::string* field = key == "login"      ? &r.login
                         : key == "password" ? &r.password
                                             : nullptr;
    if (field == nullptr) {
      return Status::InvalidArgument(
          "La demande de connexion contient un champ inconnu : seuls "
          "« login » et « password » sont attendus.");
    }
    if (!value.is_string()) {
      return Status::InvalidArgument("Le champ « " + key +
                                     " » doit être un texte.");
    }
    *field = value.get<std::string>();
  }
  if (r.login.empty()) {
    return Status::InvalidArgument("Indiquez votre identifiant.");
  }
  if (r.password.empty()) {
    return Status::InvalidArgument("Indiquez votre mot de passe.");
  }
  return r;
}

std::string SessionTokenOf(std::string_view cookie_header) {
  while (!cookie_header.empty()) {
    const size_t semi = cookie_header.find(';');
    std::string_view pair = Trimmed(cookie_header.substr(0, semi));
    cookie_header = semi == std::string_view::npos
                        ? std::string_view()
                        : cookie_header.substr(semi + 1);
    const size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    if (Trimmed(pair.substr(0, eq)) != kSessionCookie) continue;
    std::string_view value = Trimmed(pair.substr(eq + 1));
    return IsToken(value) ? std::string(value) : std::string();
  }
  return {};
}

}  // namespace relais::console
