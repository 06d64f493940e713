#pragma once

// What a CaseEvent carries beside its body (schemas/cases.fbs): the
// citizen's documents (attachments) and, for a case opened at a France
// services counter, the assistance (the agent and the citizen's mandate).
// Both are inside the payload, so hashed and signed with it. The broker
// checks the assistance's form and writes it in the case's trail; the
// recipients check the attachments (docs/CASES.md, "Attachments").
//
// Thread-safety: pure functions.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "schemas/cases_generated.h"

namespace relais {

inline constexpr size_t kMaxAttachments = 10;
inline constexpr size_t kMaxAttachmentNameBytes = 100;

// "application/pdf", "image/png" or "image/jpeg" from the content's first
// bytes ("%PDF-"; 89 50 4E 47 0D 0A 1A 0A; FF D8 FF); empty for anything
// else.
std::string_view SniffMediaType(std::string_view content);
// Whether `media_type` is one of the three above.
bool IsAttachmentMediaType(std::string_view media_type);

// 1 to kMaxAttachmentNameBytes bytes of UTF-8 without control characters,
// '/' or '\', not starting with '.'. InvalidArgument saying which rule,
// never the name.
Status CheckAttachmentName(std::string_view name);

// A document, as a sender has it.
struct AttachmentFile {
  std::string name;
  std::string media_type;
  std::string content;
};

// What a recipient checks of `event`'s attachments: at most
// kMaxAttachments, and each with a valid name, a known media type that its
// content's first bytes confirm, at least one byte, and its SHA-256.
// InvalidArgument naming the attachment by position ("attachments[2]:
// ..."), never its name or bytes.
Status CheckAttachments(const wire::CaseEvent& event);

// A console's agent login: 2 to 64 of a-z, 0-9, '.', '_', '-', starting
// with a letter. InvalidArgument saying which rule.
Status CheckAgentLogin(std::string_view login);

// The form of an assistance: its agent's login, a mandate of kind Oral or
// Written with a valid date. InvalidArgument naming the field
// ("assistance.mandate.date: ...").
Status CheckAssistance(const wire::Assistance& assistance);

// The case trail's words for it: "opened at a France services counter by
// agent a.martin (written mandate of 2026-11-29)". Call after
// CheckAssistance.
std::string AssistanceTrailDetail(const wire::Assistance& assistance);

struct CounterAssistance {
  std::string agent;  // CheckAgentLogin
  wire::MandateKind mandate_kind = wire::MandateKind::None;
  std::string mandate_date;  // YYYY-MM-DD
};

// `payload` (a CaseEvent, verified here) with `files` as its attachments
// (their SHA-256 computed) and `assistance`: InvalidArgument if it is not
// a CaseEvent, if it has attachments or an assistance already, or if one
// of them breaks the rules above.
Result<std::string> WithCaseExtras(std::string_view payload,
                                   const std::vector<AttachmentFile>& files,
                                   const CounterAssistance& assistance);

}  // namespace relais
