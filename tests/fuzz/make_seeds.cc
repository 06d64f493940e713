// Writes the fuzz targets' seeds that are built rather than copied
// (tests/fuzz/README.md), into CORPUS_DIR (tests/fuzz/corpus):
//   frame/     a valid frame of every body type of schemas/frames.fbs
//   envelope/  an envelope of each of the eight case types, signed with the
//              fixed key envelope_fuzz.cc trusts, and its CaseEvent alone
//              (payload_<type>: mapping_fuzz renders these), and an opaque
//              one
//   native/    each agency's document of each case type, as its adapter
//              writes it (render_<agency>_<type>, with native_fuzz's reader
//              byte first)
//   config/    the files `relais provision` writes (relaisd.toml, a
//              client.toml, the CPAM's adapter.toml)
//   keys/      a secret and a public identity file and a subject key
// The eight case events come from deploy/samples/, read by the agencies'
// translators. Run from the source tree after a schema or format change:
//   build/tests/relais_fuzz_seeds tests/fuzz/corpus

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "adapters/caf/translator.h"
#include "adapters/cpam/translator.h"
#include "adapters/dgfip/translator.h"
#include "adapters/france_travail/translator.h"
#include "core/case_extras.h"
#include "core/cases.h"
#include "core/envelope.h"
#include "core/files.h"
#include "core/frame.h"
#include "core/ids.h"
#include "deploy/lib/provision.h"
#include "tests/support/fixtures.h"

using namespace relais;

namespace {

namespace fs = std::filesystem;

constexpr int64_t kNowMs = 1795392000000;  // what envelope_fuzz.cc checks at

// Every step's failure ends the program with its reason.
template <typename T>
T Must(Result<T> r, const std::string& what) {
  if (!r.ok()) {
    std::fprintf(stderr, "%s: %s\n", what.c_str(),
                 r.status().ToString().c_str());
    std::exit(1);
  }
  return std::move(*r);
}

void Write(const std::string& path, std::string_view bytes) {
  fs::create_directories(fs::path(path).parent_path());
  Status st = WriteFileAtomic(path, bytes);
  if (!st.ok()) Must(Result<int>(st), path);
}

struct Event {
  wire::CaseType type;
  std::string payload;  // CaseEvent bytes
};

// The eight case types, from the samples (the France services desk's two
// through the CLI's case JSON, whose "event" is a CaseEvent's JSON).
std::vector<Event> SampleEvents() {
  const adapters::caf::CafTranslator caf;
  const adapters::cpam::CpamTranslator cpam;
  const adapters::dgfip::DgfipTranslator dgfip;
  const adapters::france_travail::FranceTravailTranslator ft;
  const std::pair<const translation::Translator*, const char*> natives[] = {
      {&cpam, "cpam/birth.json"},
      {&dgfip, "dgfip/household_change.json"},
      {&caf, "caf/rsa_application.csv"},
      {&ft, "france_travail/job_seeker_status.json"},
      {&dgfip, "dgfip/resources_update.json"},
      {&cpam, "cpam/death_notification.json"}};
  std::vector<Event> out;
  for (const char* desk : {"address_change.json", "assisted_case.json"}) {
    const std::string path = testing::SourcePath(
        std::string("deploy/samples/france_services/") + desk);
    const auto doc = nlohmann::json::parse(Must(ReadFile(path), path));
    std::string payload = Must(CaseEventFromJson(doc.at("event").dump()), path);
    const auto* event = flatbuffers::GetRoot<wire::CaseEvent>(payload.data());
    out.push_back({static_cast<wire::CaseType>(event->body_type()), payload});
  }
  for (const auto& [reader, sample] : natives) {
    const std::string path =
        testing::SourcePath(std::string("deploy/samples/") + sample);
    auto cases =
        Must(reader->ReadInbox(path, Must(ReadFile(path), path)), path);
    out.push_back({cases.at(0).case_type, cases.at(0).payload});
  }
  return out;
}

SigningKey FixedKey() {
  SigningKey key;
  key.key = *crypto::Ed25519PrivateKey::FromSeed(std::string(32, '\x07'));
  key.key_id = KeyIdOf(key.key.public_key().raw());
  return key;
}

std::string Seal(const SigningKey& key, const Event& e, char id) {
  EnvelopeDraft d =
      testing::SampleDraft("france-services/paris-15", {"caf", "cpam"});
  d.case_id = "c-20261123-000000000001";
  d.created_at_ms = kNowMs - 1000;
  d.expires_at_ms = kNowMs + 3600000;
  d.message_id = std::string(16, id);
  d.case_type = e.type;
  d.payload = e.payload;
  return Must(SealEnvelope(d, key), "seal").bytes;
}

std::string CaseState() {
  wire::CaseStateT s;
  s.case_id = "c-20261123-000000000001";
  s.case_type = wire::CaseType::Birth;
  s.originator = "cpam";
  s.opened_at_ms = kNowMs;
  auto r = std::make_unique<wire::RecipientStatusT>();
  r->recipient = "caf";
  r->state = wire::RecipientState::Done;
  r->message_id.assign(16, 1);
  s.recipients.push_back(std::move(r));
  auto t = std::make_unique<wire::TrailEntryT>();
  t->event = wire::TraceEvent::Accepted;
  t->party = "cpam";
  s.trail.push_back(std::move(t));
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::CaseState::Pack(fbb, &s), kCaseStateIdentifier);
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                     fbb.GetSize());
}

std::string DeadLetter() {
  wire::DeadLetterT dl;
  dl.recipient = "caf";
  dl.sequence = 7;
  dl.message_id.assign(16, 1);
  dl.case_id = "c-20261123-000000000001";
  dl.sender = "cpam";
  dl.case_type = wire::CaseType::Birth;
  dl.reason = wire::RecipientState::Undeliverable;
  dl.attempts = 20;
  flatbuffers::FlatBufferBuilder fbb;
  fbb.Finish(wire::DeadLetter::Pack(fbb, &dl));
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                     fbb.GetSize());
}

void FrameSeeds(const std::string& dir, const std::string& envelope) {
  const std::string id(16, '\x01');
  wire::BrokerStatsT stats;
  stats.sessions = 3;
  const std::pair<const char*, std::string> frames[] = {
      {"hello", HelloFrame(1, "caf", 64, "seed")},
      {"welcome", WelcomeFrame(1, {"relais", 1 << 20, 2000, 1, 64})},
      {"submit", SubmitFrame(2, envelope)},
      {"accepted", AcceptedFrame(2, id, 7, kNowMs, false)},
      {"rejected", RejectedFrame(2, wire::RejectCode::BadSignature, "bad", id)},
      {"deliver", DeliverFrame(7, 1, envelope)},
      {"ack", DeliveryAckFrame(3, 7, id, wire::AckOutcome::Processed, "")},
      {"credit", CreditFrame(4, 32)},
      {"heartbeat", HeartbeatFrame(5, kNowMs)},
      {"query", CaseStatusQueryFrame(6, "c-20261123-000000000001")},
      {"case_status_reply",
       CaseStatusReplyFrame(6, "c-20261123-000000000001", CaseState())},
      {"admin",
       AdminRequestFrame(8, wire::AdminOp::ListDeadLetters, "caf", 0, 10)},
      {"admin_reply", AdminReplyFrame(8, wire::AdminOp::ShowDeadLetter,
                                      {DeadLetter()}, envelope, false, &stats)},
      {"status_update",
       StatusUpdateFrame(9, id, wire::RecipientState::Done, "dossier clos")},
      {"status_recorded",
       StatusRecordedFrame(9, id, wire::RecipientState::Done, true, kNowMs)},
      {"subject_registration",
       SubjectRegistrationFrame(10, std::string(64, 'S'), false)},
      {"subjects_registered", SubjectsRegisteredFrame(10, 2, 2)},
      {"route_query", RouteQueryFrame(11, wire::CaseType::DeathNotification,
                                      std::string(32, 'S'))},
      {"route_reply", RouteReplyFrame(11, {"caf", "dgfip"})},
      {"bundle",
       BundleFrame(
           12,
           {SubmitFrame(13, envelope),
            DeliveryAckFrame(0, 7, id, wire::AckOutcome::Processed, ""),
            DeliverFrame(8, 1, envelope),
            WelcomeFrame(14, {"relais", 1 << 20, 2000, 1, 64, 1024, 1024})})},
  };
  for (const auto& [name, bytes] : frames) Write(dir + "/frame/" + name, bytes);
}

void EnvelopeSeeds(const std::string& dir, const SigningKey& key,
                   const std::vector<Event>& events) {
  char id = 1;
  for (const Event& e : events) {
    const std::string type(CaseTypeName(e.type));
    Write(dir + "/envelope/" + type, Seal(key, e, id++));
    Write(dir + "/envelope/payload_" + type, e.payload);
  }
  EnvelopeDraft d =
      testing::SampleDraft("france-services/paris-15", {"caf", "cpam"});
  d.case_id = "c-20261123-000000000001";
  d.created_at_ms = kNowMs - 1000;
  d.expires_at_ms = kNowMs + 3600000;
  d.message_id = std::string(16, '\x7f');
  d.encoding = wire::PayloadEncoding::Opaque;
  d.payload = "opaque payload";
  Write(dir + "/envelope/opaque", Must(SealEnvelope(d, key), "seal").bytes);
  // A batch seal of five (PROTOCOL.md 4.8): leaves at the edges and the
  // middle of the tree, and a batch of one.
  std::vector<EnvelopeDraft> batch(5, d);
  for (size_t i = 0; i < batch.size(); ++i) {
    batch[i].message_id = std::string(15, '\x6b') + static_cast<char>(i);
  }
  const auto sealed = Must(SealBatch(batch, key), "batch seal");
  for (size_t i : {0, 2, 4}) {
    Write(dir + "/envelope/batch_" + std::to_string(i), sealed[i].bytes);
  }
  Write(dir + "/envelope/batch_of_one",
        Must(SealBatch({d}, key), "batch seal")[0].bytes);
  // The address change as the console sends it: with a document and the
  // counter's assistance (core/case_extras.h).
  const Event assisted{
      events.front().type,
      Must(WithCaseExtras(
               events.front().payload,
               {{"justificatif.pdf", "application/pdf", "%PDF-1.4\n%%EOF\n"}},
               {"agent.dev", wire::MandateKind::Written, "2026-11-23"}),
           "case extras")};
  Write(dir + "/envelope/address_change_assisted", Seal(key, assisted, 0x60));
  Write(dir + "/envelope/payload_address_change_assisted", assisted.payload);
}

// Each agency's outbox document of each event, with the byte that makes
// native_fuzz.cc pick that agency's reader.
void NativeSeeds(const std::string& dir, const SigningKey& key,
                 const std::vector<Event>& events) {
  const adapters::caf::CafTranslator caf;
  const adapters::cpam::CpamTranslator cpam;
  const adapters::dgfip::DgfipTranslator dgfip;
  const adapters::france_travail::FranceTravailTranslator ft;
  const std::tuple<const translation::Translator*, const char*, char>
      agencies[] = {{&caf, "caf", 1},
                    {&cpam, "cpam", 2},
                    {&dgfip, "dgfip", 3},
                    {&ft, "ft", 4}};
  for (const Event& e : events) {
    const std::string sealed = Seal(key, e, 9);
    const EnvelopeView view = Must(ParseEnvelope(sealed), "parse");
    const auto* event =
        flatbuffers::GetRoot<wire::CaseEvent>(view.payload.data());
    for (const auto& [translator, agency, pick] : agencies) {
      auto file = translator->WriteOutbox(view, *event);
      if (!file.ok()) continue;  // a type this agency does not take
      Write(dir + "/native/render_" + agency + "_" +
                std::string(CaseTypeName(e.type)),
            std::string(1, pick) + file->contents);
    }
  }
}

// The configuration and key files of a provisioned stack.
void ProvisionedSeeds(const std::string& dir) {
  const std::string stack = testing::MakeTestDir();
  deploy::StackSpec spec;
  spec.dir = stack;
  const auto layout = Must(deploy::Provision(spec), "provision");
  const std::pair<std::string, std::string> copies[] = {
      {layout.BrokerConfig(), "config/relaisd.toml"},
      {layout.ClientConfig("caf"), "config/caf_client.toml"},
      {layout.AdapterConfig("cpam"), "config/cpam_adapter.toml"},
      {testing::SourcePath("deploy/relaisd.example.toml"),
       "config/relaisd.example.toml"},
      {layout.IdentityFile("caf"), "keys/caf.key.toml"},
      {layout.PublicFile("france-services/paris-15"),
       "keys/france-services_paris-15.pub.toml"},
      {layout.SubjectKey(), "keys/subject.key"}};
  for (const auto& [from, to] : copies) {
    Write(dir + "/" + to, Must(ReadFile(from), from));
  }
  std::error_code ec;
  fs::remove_all(stack, ec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  const SigningKey key = FixedKey();
  const std::vector<Event> events = SampleEvents();
  FrameSeeds(dir, Seal(key, events.front(), 1));
  EnvelopeSeeds(dir, key, events);
  NativeSeeds(dir, key, events);
  ProvisionedSeeds(dir);
  return 0;
}
