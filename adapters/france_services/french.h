#pragma once

// What the console shows agents, in plain French: the names of case types,
// agencies and statuses, the problems of a case being filled in
// (core/case_check.h's rules), and the broker's refusals by their codes
// (schemas/codes.fbs). Never a value the agent typed: a message sits next
// to its field.

#include <string>
#include <string_view>

#include "adapters/france_services/case_index.h"
#include "core/case_check.h"
#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais::console {

// "Changement d'adresse", ...; "" for Unknown.
std::string_view CaseTypeLabel(wire::CaseType type);
// "Caf", "Assurance maladie (CPAM)", ...; the id itself for another.
std::string AgencyLabel(std::string_view participant);
// "En attente de l'organisme", "Traité", ...
std::string_view StateLabel(wire::RecipientState state);
// "En attente", "En cours", "Terminé", "Refusé", "Expiré".
std::string_view ProgressLabel(CaseProgress progress);

// The problem, worded for the agent ("La clé du NIR ne correspond pas.").
std::string ProblemMessage(const CaseProblem& problem);

// Why the broker (or the way to it) did not take a case, worded for the
// agent, from the status's code; says whether trying again may help.
std::string RefusalMessage(const Status& status);

}  // namespace relais::console
