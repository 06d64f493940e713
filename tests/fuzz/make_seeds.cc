// Writes the fuzz targets' seed corpora (tests/fuzz/corpus/): valid frames
// of every type and valid envelopes, signed with the fixed key that
// envelope_fuzz.cc trusts. Run by hand after a schema change:
//   build/tests/relais_fuzz_seeds tests/fuzz/corpus

#include <cstdio>
#include <string>

#include "core/cases.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/frame.h"
#include "core/ids.h"
#include "tests/support/fixtures.h"

using namespace relais;

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  SigningKey key;
  key.key = *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x07'));
  key.key_id = KeyIdOf(key.key.public_key().raw());
  EnvelopeDraft d =
      testing::SampleDraft("france-services/paris-15", {"caf", "cpam"});
  d.case_id = "c-20261123-000000000001";
  d.created_at_ms = 1795392000000 - 1000;
  d.expires_at_ms = 1795392000000 + 3600000;
  d.message_id = std::string(16, '\x01');
  const std::string envelope = SealEnvelope(d, key)->bytes;
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = "opaque payload";
  d.message_id = std::string(16, '\x02');
  const std::string opaque = SealEnvelope(d, key)->bytes;

  const std::string id(16, '\x01');
  const std::pair<const char*, std::string> frames[] = {
      {"hello", HelloFrame(1, "caf", 64, "seed")},
      {"welcome", WelcomeFrame(1, {"relais", 1 << 20, 2000, 1, 64})},
      {"submit", SubmitFrame(2, envelope)},
      {"accepted", AcceptedFrame(2, id, 7, 1795392000000, false)},
      {"rejected", RejectedFrame(2, wire::RejectCode::BadSignature, "bad", id)},
      {"deliver", DeliverFrame(7, 1, envelope)},
      {"ack", DeliveryAckFrame(3, 7, id, wire::AckOutcome::Processed, "")},
      {"credit", CreditFrame(4, 32)},
      {"heartbeat", HeartbeatFrame(5, 1795392000000)},
      {"query", CaseStatusQueryFrame(6, "c-20261123-000000000001")},
      {"admin",
       AdminRequestFrame(8, wire::AdminOp::ListDeadLetters, "caf", 0, 10)},
      {"status_update",
       StatusUpdateFrame(9, id, wire::RecipientState::Done, "dossier clos")},
      {"status_recorded", StatusRecordedFrame(9, id, wire::RecipientState::Done,
                                              true, 1795392000000)},
      {"subject_registration",
       SubjectRegistrationFrame(10, std::string(64, 'S'), false)},
      {"subjects_registered", SubjectsRegisteredFrame(10, 2, 2)},
      {"route_query", RouteQueryFrame(11, wire::CaseType::DeathNotification,
                                      std::string(32, 'S'))},
      {"route_reply", RouteReplyFrame(11, {"caf", "dgfip"})},
  };
  Status st;
  for (const auto& [name, bytes] : frames) {
    st = WriteFileAtomic(dir + "/frame/" + name, bytes);
    if (!st.ok()) break;
  }
  if (st.ok()) st = WriteFileAtomic(dir + "/envelope/case_event", envelope);
  if (st.ok()) st = WriteFileAtomic(dir + "/envelope/opaque", opaque);
  if (st.ok())
    st = WriteFileAtomic(dir + "/envelope/payload",
                         testing::SampleAddressChange());
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  return 0;
}
