#include "adapters/france_services/french.h"

namespace relais::console {

std::string_view CaseTypeLabel(wire::CaseType type) {
  switch (type) {
    case wire::CaseType::AddressChange:
      return "Changement d'adresse";
    case wire::CaseType::Birth:
      return "Grossesse ou naissance";
    case wire::CaseType::HouseholdChange:
      return "Mariage, Pacs ou séparation";
    case wire::CaseType::RsaApplication:
      return "Demande de RSA";
    case wire::CaseType::JobSeekerStatus:
      return "Inscription comme demandeur d'emploi";
    case wire::CaseType::ResourcesUpdate:
      return "Mise à jour des ressources";
    case wire::CaseType::DeathNotification:
      return "Déclaration d'un décès";
    case wire::CaseType::AssistedCase:
      return "Démarche accompagnée auprès d'un organisme";
    case wire::CaseType::Unknown:
      break;
  }
  return "";
}

std::string AgencyLabel(std::string_view participant) {
  if (participant == "caf") return "Caf (allocations familiales)";
  if (participant == "cpam") return "Assurance maladie (CPAM)";
  if (participant == "dgfip") return "Finances publiques (impôts)";
  if (participant == "france-travail") return "France Travail";
  return std::string(participant);
}

std::string_view StateLabel(wire::RecipientState state) {
  switch (state) {
    case wire::RecipientState::Sent:
      return "Envoyé, en attente de l'organisme";
    case wire::RecipientState::Delivered:
      return "Remis à l'organisme";
    case wire::RecipientState::Received:
      return "Reçu par l'organisme";
    case wire::RecipientState::InProgress:
      return "En cours de traitement";
    case wire::RecipientState::Done:
      return "Traité";
    case wire::RecipientState::Rejected:
      return "Refusé par l'organisme";
    case wire::RecipientState::Expired:
      return "Non remis : délai dépassé";
    case wire::RecipientState::Undeliverable:
      return "Non remis : l'organisme ne répond pas";
  }
  return "";
}

std::string_view ProgressLabel(CaseProgress progress) {
  switch (progress) {
    case CaseProgress::kWaiting:
      return "En attente";
    case CaseProgress::kInProgress:
      return "En cours";
    case CaseProgress::kDone:
      return "Terminé";
    case CaseProgress::kRejected:
      return "Refusé";
    case CaseProgress::kExpired:
      return "Expiré";
  }
  return "";
}

std::string ProblemMessage(const CaseProblem& p) {
  switch (p.rule) {
    case CaseRule::kMissing:
      return "Ce champ est obligatoire.";
    case CaseRule::kEmpty:
    case CaseRule::kNull:
      return "Ce champ est vide : remplissez-le ou retirez-le.";
    case CaseRule::kUnknownField:
      return "Ce champ n'existe pas pour ce type de dossier.";
    case CaseRule::kNotOneOf:
      return "Choisissez une des valeurs proposées.";
    case CaseRule::kNotObject:
    case CaseRule::kNotArray:
    case CaseRule::kNotBool:
    case CaseRule::kNotString:
    case CaseRule::kNotNumber:
      return "Cette valeur n'a pas la forme attendue.";
    case CaseRule::kNotInteger:
      return "Saisissez un nombre entier.";
    case CaseRule::kOutOfRange:
      return "Saisissez un nombre entier de " + std::to_string(p.min) +
             (p.max == INT64_MAX ? " ou plus."
                                 : " à " + std::to_string(p.max) + ".");
    case CaseRule::kNotUtf8:
    case CaseRule::kControlCharacter:
      return "Ce texte contient un caractère qui ne peut pas être envoyé.";
    case CaseRule::kNir:
      return "Le numéro de sécurité sociale (NIR) doit compter 15 caractères, "
             "clé comprise, et sa clé doit correspondre.";
    case CaseRule::kDate:
      return "Saisissez une date existante au format AAAA-MM-JJ.";
    case CaseRule::kTaxNumber:
      return "Le numéro fiscal doit compter 13 chiffres et commencer par 0, "
             "1, 2 ou 3 ; vérifiez-le sur un avis d'impôt.";
    case CaseRule::kCog:
      return "Le code officiel géographique (COG) compte 5 caractères "
             "(99100 pour la France).";
    case CaseRule::kPostcode:
      return "Le code postal compte 5 chiffres.";
    case CaseRule::kTaxParts:
      return "Le nombre de parts va de 1 à 99, par quarts de part (2,5 par "
             "exemple).";
    case CaseRule::kParticipantId:
      return "Cet organisme n'est pas connu.";
    case CaseRule::kSecondReference:
      return "Cet organisme a déjà un identifiant dans ce dossier.";
    case CaseRule::kAgencyReference:
      return "Cet identifiant n'a pas la forme de ceux de l'organisme.";
    case CaseRule::kNirSex:
      return "Le sexe ne correspond pas au premier chiffre du NIR.";
    case CaseRule::kNirBirthDate:
      return "L'année et le mois de naissance ne correspondent pas au NIR.";
  }
  return "Cette valeur ne convient pas.";
}

namespace {

std::string Code(wire::RejectCode code) {
  return " (code " + std::to_string(static_cast<int>(code)) + ")";
}

}  // namespace

std::string RefusalMessage(const Status& status) {
  switch (status.code()) {
    case Status::Code::kTimeout:
    case Status::Code::kUnavailable:
      return "relais ne répond pas pour le moment. Réessayez dans un "
             "instant : le dossier ne sera ouvert qu'une fois.";
    case Status::Code::kRejected:
      break;
    default:
      return "Le dossier n'a pas pu être envoyé à cause d'une panne de la "
             "console. Réessayez ; si cela dure, prévenez l'équipe "
             "technique.";
  }
  const wire::RejectCode code = status.reject_code();
  switch (code) {
    case wire::RejectCode::UnknownRecipient:
      return "Un des organismes choisis n'est pas raccordé à relais" +
             Code(code) + ".";
    case wire::RejectCode::NotAuthorised:
      return "Votre espace France services n'est pas autorisé à envoyer ce "
             "type de dossier à l'un des organismes choisis" +
             Code(code) + ". Adressez-vous au responsable de votre espace.";
    case wire::RejectCode::BadRecipients:
      return "La liste des organismes destinataires n'est pas valable" +
             Code(code) + ".";
    case wire::RejectCode::MessageTooLarge:
      return "Le dossier est trop volumineux pour être envoyé" + Code(code) +
             ".";
    case wire::RejectCode::Expired:
    case wire::RejectCode::ClockSkew:
      return "L'heure de la console est décalée : le dossier a été refusé" +
             Code(code) + ". Prévenez l'équipe technique.";
    case wire::RejectCode::UnknownSigningKey:
    case wire::RejectCode::SigningKeyNotValid:
      return "La clé de signature de votre espace n'est pas ou plus "
             "reconnue" +
             Code(code) + ". Prévenez l'équipe technique.";
    case wire::RejectCode::Overloaded:
    case wire::RejectCode::JournalUnavailable:
    case wire::RejectCode::ShuttingDown:
      return "relais est momentanément indisponible" + Code(code) +
             ". Réessayez dans un instant : le dossier ne sera ouvert "
             "qu'une fois.";
    default:
      return "relais a refusé le dossier" + Code(code) +
             ". Prévenez l'équipe technique en donnant ce code.";
  }
}

}  // namespace relais::console
