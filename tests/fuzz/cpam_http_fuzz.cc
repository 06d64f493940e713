// libFuzzer target: the CPAM adapter's local HTTP endpoint
// (adapters/sdk/http_front.h), without a socket. The input is a request:
// "METHOD PATH" up to the first newline, then the body. HandleHttpRequest
// answers it on folders of its own (no wait for the broker); a document it
// keeps is then carried as the runtime would: a case through the real
// Intake (adapters/sdk/intake.h) with the CPAM's translator reading it and
// every case accepted, a status file through ParseStatusFile (refused to
// rejected/ with its .error, or recorded to done/); and PostedVerdict
// answers what the partner would get. Nothing may crash or throw; every
// answer is a known status with an empty body or JSON; a DELETE takes only
// the file it names.

#include <spdlog/spdlog.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/cpam/translator.h"
#include "adapters/sdk/http_routes.h"
#include "adapters/sdk/intake.h"
#include "adapters/sdk/native.h"
#include "adapters/sdk/partner_files.h"
#include "core/files.h"

using namespace relais;

namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

// The adapter's folders under a fresh temporary folder (in memory where
// /dev/shm exists), removed at exit.
struct Folders {
  std::string root;
  sdk::HttpFolders http;
  std::string intake;
};

const Folders& TheFolders() {
  static const Folders* folders = [] {
    std::error_code ec;
    const char* tmp = std::getenv("TMPDIR");
    std::string base = tmp && *tmp                        ? tmp
                       : fs::is_directory("/dev/shm", ec) ? "/dev/shm"
                                                          : "/tmp";
    std::string root = base + "/relais-cpam-http-fuzz-XXXXXX";
    if (::mkdtemp(root.data()) == nullptr) std::abort();
    auto* f = new Folders;
    f->root = root;
    f->http.inbox = root + "/inbox";
    f->http.outbox = root + "/outbox";
    f->http.status = root + "/status";
    f->http.done = root + "/done";
    f->http.rejected = root + "/rejected";
    f->http.wait_ms = 0;
    f->intake = root + "/state/intake";
    spdlog::set_level(spdlog::level::off);  // the intake says what it did
    for (const auto* dir : {&f->http.inbox, &f->http.outbox, &f->http.status,
                            &f->http.done, &f->http.rejected, &f->intake}) {
      fs::create_directories(*dir);
    }
    std::atexit([] {
      std::error_code ec;
      fs::remove_all(TheFolders().root, ec);
    });
    return f;
  }();
  return *folders;
}

// Empties the folders and puts one delivered case in outbox/.
void Reset(const Folders& f) {
  std::error_code ec;
  for (const auto* dir : {&f.http.inbox, &f.http.outbox, &f.http.status,
                          &f.http.done, &f.http.rejected, &f.intake}) {
    for (const auto& e : fs::directory_iterator(*dir, ec)) {
      fs::remove_all(e.path(), ec);
    }
  }
  if (!WriteFileAtomic(f.http.outbox + "/c-1-0123456789abcdef.json",
                       "{\"type\": \"deces\", \"dossier\": \"c-1\"}\n")
           .ok()) {
    std::abort();
  }
}

void ExpectAnswer(const sdk::HttpAnswer& a) {
  static const int kKnown[] = {200, 201, 202, 204, 404, 422, 503};
  if (std::find(std::begin(kKnown), std::end(kKnown), a.status) ==
      std::end(kKnown)) {
    std::abort();
  }
  if (!a.body.empty() && !Json::accept(a.body)) std::abort();
}

// What the runtime does with a posted case: the intake, the CPAM's
// translator sealing (one stand-in envelope per case), the broker accepting
// every envelope.
void CarryCase(const Folders& f) {
  static const adapters::cpam::CpamTranslator cpam;
  sdk::Intake intake(
      {f.http.inbox, f.http.done, f.http.rejected, f.intake},
      {[](const std::string& n) { return cpam.Accepts(n); },
       [](const std::string& n,
          std::string_view c) -> Result<std::vector<std::string>> {
         RELAIS_ASSIGN_OR_RETURN(auto cases, cpam.ReadInbox(n, c));
         if (cases.empty()) {
           return Status::InvalidArgument("the file holds no case");
         }
         return std::vector<std::string>(cases.size(), "envelope");
       },
       [](const std::vector<std::string>& envelopes) {
         std::vector<Result<Json>> out;
         for (size_t i = 0; i < envelopes.size(); ++i) {
           out.push_back(Json{{"case_id", "c-" + std::to_string(i)}});
         }
         return out;
       }});
  intake.Resume();
  intake.Scan([] { return false; });
}

// What the runtime does with a posted status file (AdapterRuntime's
// ReportFile, the broker recording it).
void CarryStatus(const Folders& f, const std::string& name) {
  const std::string from = f.http.status + "/" + name;
  auto text = ReadFile(from);
  if (!text.ok()) std::abort();
  auto doc = sdk::native::ParseJsonObject(*text);
  Status why = doc.ok() ? sdk::ParseStatusFile(*doc).status() : doc.status();
  if (why.ok()) {
    if (!RenameSynced(from, f.http.done + "/" + name).ok()) std::abort();
    return;
  }
  const std::string to = f.http.rejected + "/" + name;
  if (!RenameSynced(from, to).ok() ||
      !WriteFileAtomic(to + ".error", why.message() + "\n").ok()) {
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t eol = input.find('\n');
  const std::string_view line = input.substr(0, eol);
  const std::string body(eol == std::string_view::npos ? std::string_view()
                                                       : input.substr(eol + 1));
  const size_t space = line.find(' ');
  if (space == std::string_view::npos) return 0;
  const std::string_view method = line.substr(0, space);
  const std::string_view path = line.substr(space + 1);

  const Folders& f = TheFolders();
  Reset(f);
  const sdk::HttpAnswer answer =
      sdk::HandleHttpRequest(f.http, method, path, body);
  ExpectAnswer(answer);
  // The one file in outbox/ is the only one a DELETE may take, by its name.
  if (method == "DELETE" && answer.status == 204 &&
      path != "/cases/c-1-0123456789abcdef.json") {
    std::abort();
  }
  if (answer.status != 202) return 0;
  // Kept, the broker not asked yet: carry it on, then ask again.
  const std::string name =
      Json::parse(answer.body).at("file").get<std::string>();
  if (path == "/cases") {
    CarryCase(f);
  } else {
    CarryStatus(f, name);
  }
  auto verdict = sdk::PostedVerdict(f.http, path, name);
  if (!verdict) std::abort();
  ExpectAnswer(*verdict);
  return 0;
}
