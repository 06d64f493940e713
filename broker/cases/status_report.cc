#include "broker/cases/status_report.h"

#include <flatbuffers/flatbuffers.h>

#include "core/bytes.h"
#include "core/flatbuf.h"
#include "schemas/status_report_generated.h"

namespace relais::broker::cases {

EnvelopeDraft StatusReportDraft(const EnvelopeView& about,
                                const ReportFacts& facts,
                                std::string_view broker_id, int64_t now_ms,
                                int64_t ttl_ms) {
  flatbuffers::FlatBufferBuilder fbb(256);
  fbb.Finish(
      wire::CreateStatusReport(
          fbb, CreateBytes(fbb, about.message_id),
          fbb.CreateString(about.case_id.data(), about.case_id.size()),
          fbb.CreateString(facts.recipient.data(), facts.recipient.size()),
          facts.state, now_ms, facts.attempts,
          fbb.CreateString(facts.detail.data(), facts.detail.size())),
      kStatusReportIdentifier);
  EnvelopeDraft d;
  d.case_id = std::string(about.case_id);
  d.sender = std::string(broker_id);
  d.recipients = {std::string(about.sender)};
  d.case_type = about.header->case_type();
  d.encoding = wire::PayloadEncoding::StatusReport;
  d.payload.assign(AsStringView(fbb.GetBufferPointer(), fbb.GetSize()));
  d.created_at_ms = now_ms;
  d.expires_at_ms = now_ms + ttl_ms;
  d.in_reply_to = std::string(about.message_id);
  d.subject_ref = std::string(VectorBytes(about.header->subject_ref()));
  return d;
}

}  // namespace relais::broker::cases
