#include "core/case_extras.h"

#include <flatbuffers/flatbuffers.h>

#include <memory>

#include "core/bytes.h"
#include "core/clock.h"
#include "core/crypto.h"
#include "core/envelope.h"
#include "core/flatbuf.h"
#include "core/text.h"

namespace relais {
namespace {

constexpr std::string_view kPdf = "application/pdf";
constexpr std::string_view kPng = "image/png";
constexpr std::string_view kJpeg = "image/jpeg";

Status At(const std::string& where, const Status& st) {
  return Status::InvalidArgument(where + ": " + st.message());
}

}  // namespace

std::string_view SniffMediaType(std::string_view content) {
  if (content.starts_with("%PDF-")) return kPdf;
  if (content.starts_with("\x89PNG\r\n\x1a\n")) return kPng;
  if (content.starts_with("\xff\xd8\xff")) return kJpeg;
  return {};
}

bool IsAttachmentMediaType(std::string_view media_type) {
  return media_type == kPdf || media_type == kPng || media_type == kJpeg;
}

Status CheckAttachmentName(std::string_view name) {
  if (name.empty() || name.size() > kMaxAttachmentNameBytes) {
    return Status::InvalidArgument("a file name is 1 to 100 bytes long");
  }
  if (!IsCleanText(name)) {
    return Status::InvalidArgument(
        "a file name is UTF-8 text without control characters");
  }
  if (name.find_first_of("/\\") != std::string_view::npos ||
      name.front() == '.') {
    return Status::InvalidArgument(
        "a file name holds no '/' or '\\' and does not start with '.'");
  }
  return Status::OK();
}

Status CheckAttachments(const wire::CaseEvent& event) {
  const auto* list = event.attachments();
  if (list == nullptr) return Status::OK();
  if (list->size() > kMaxAttachments) {
    return Status::InvalidArgument(
        "attachments: " + std::to_string(list->size()) + ", at most " +
        std::to_string(kMaxAttachments));
  }
  for (flatbuffers::uoffset_t i = 0; i < list->size(); ++i) {
    const wire::Attachment* a = list->Get(i);
    const std::string where = "attachments[" + std::to_string(i) + "]";
    if (a == nullptr) return Status::InvalidArgument(where + ": missing");
    if (Status st = CheckAttachmentName(StringView(a->name())); !st.ok()) {
      return At(where + ".name", st);
    }
    const std::string_view media_type = StringView(a->media_type());
    if (!IsAttachmentMediaType(media_type)) {
      return Status::InvalidArgument(
          where + ".media_type: not application/pdf, image/png or image/jpeg");
    }
    const std::string_view content = VectorBytes(a->content());
    if (content.empty()) {
      return Status::InvalidArgument(where + ".content: empty");
    }
    if (SniffMediaType(content) != media_type) {
      return Status::InvalidArgument(where +
                                     ".content: its first bytes are not "
                                     "those of its media_type");
    }
    if (!crypto::ConstantTimeEquals(crypto::Sha256(content),
                                    VectorBytes(a->sha256()))) {
      return Status::InvalidArgument(where +
                                     ".sha256: not the SHA-256 of content");
    }
  }
  return Status::OK();
}

Status CheckAgentLogin(std::string_view login) {
  if (login.size() < 2 || login.size() > 64) {
    return Status::InvalidArgument("a login is 2 to 64 characters long");
  }
  if (login[0] < 'a' || login[0] > 'z') {
    return Status::InvalidArgument("a login starts with a letter (a-z)");
  }
  for (char c : login) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) {
      return Status::InvalidArgument(
          "a login holds only a-z, 0-9, '.', '_' and '-'");
    }
  }
  return Status::OK();
}

Status CheckAssistance(const wire::Assistance& a) {
  if (Status st = CheckAgentLogin(StringView(a.agent())); !st.ok()) {
    return At("assistance.agent", st);
  }
  const wire::Mandate* m = a.mandate();
  if (m == nullptr) {
    return Status::InvalidArgument("assistance.mandate: missing");
  }
  if (m->kind() != wire::MandateKind::Oral &&
      m->kind() != wire::MandateKind::Written) {
    return Status::InvalidArgument(
        "assistance.mandate.kind: not Oral or Written");
  }
  if (!IsValidDate(StringView(m->date()))) {
    return Status::InvalidArgument(
        "assistance.mandate.date: not a valid date YYYY-MM-DD");
  }
  return Status::OK();
}

std::string AssistanceTrailDetail(const wire::Assistance& a) {
  const wire::Mandate* m = a.mandate();
  const bool written = m != nullptr && m->kind() == wire::MandateKind::Written;
  return "opened at a France services counter by agent " +
         std::string(StringView(a.agent())) + " (" +
         (written ? "written" : "oral") + " mandate of " +
         std::string(m != nullptr ? StringView(m->date()) : "") + ")";
}

Result<std::string> WithCaseExtras(std::string_view payload,
                                   const std::vector<AttachmentFile>& files,
                                   const CounterAssistance& assistance) {
  const auto* root =
      VerifiedRoot<wire::CaseEvent>(payload, kCaseEventIdentifier);
  if (root == nullptr) {
    return Status::InvalidArgument("not a valid case event");
  }
  if (root->attachments() != nullptr || root->assistance() != nullptr) {
    return Status::InvalidArgument(
        "the case event has attachments or an assistance already");
  }
  if (files.size() > kMaxAttachments) {
    return Status::InvalidArgument("at most 10 attachments");
  }
  std::unique_ptr<wire::CaseEventT> event(root->UnPack());
  for (size_t i = 0; i < files.size(); ++i) {
    const AttachmentFile& f = files[i];
    const std::string where = "attachments[" + std::to_string(i) + "]";
    if (Status st = CheckAttachmentName(f.name); !st.ok()) {
      return At(where + ".name", st);
    }
    if (!IsAttachmentMediaType(f.media_type) ||
        SniffMediaType(f.content) != f.media_type) {
      return Status::InvalidArgument(
          where + ": not a PDF, PNG or JPEG file of its media type");
    }
    auto a = std::make_unique<wire::AttachmentT>();
    a->name = f.name;
    a->media_type = f.media_type;
    const std::string digest = crypto::Sha256(f.content);
    a->sha256.assign(digest.begin(), digest.end());
    a->content.assign(f.content.begin(), f.content.end());
    event->attachments.push_back(std::move(a));
  }
  auto help = std::make_unique<wire::AssistanceT>();
  help->agent = assistance.agent;
  help->mandate = std::make_unique<wire::MandateT>();
  help->mandate->kind = assistance.mandate_kind;
  help->mandate->date = assistance.mandate_date;
  event->assistance = std::move(help);
  flatbuffers::FlatBufferBuilder fbb(payload.size() + 1024);
  fbb.Finish(wire::CaseEvent::Pack(fbb, event.get()), kCaseEventIdentifier);
  std::string out = BufferBytes(fbb);
  // What a recipient and the broker will check, checked here first.
  const auto* made = VerifiedRoot<wire::CaseEvent>(out, kCaseEventIdentifier);
  if (made == nullptr) return Status::Internal("the case event did not build");
  RELAIS_RETURN_IF_ERROR(CheckAttachments(*made));
  RELAIS_RETURN_IF_ERROR(CheckAssistance(*made->assistance()));
  return out;
}

}  // namespace relais
