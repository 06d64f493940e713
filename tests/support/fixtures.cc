#include "tests/support/fixtures.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

#include "core/cases.h"
#include "core/clock.h"
#include "core/flatbuf.h"
#include "core/ids.h"

namespace relais::testing {

Identity MakeIdentityAt(const std::string& participant, int64_t now_ms) {
  auto id = GenerateIdentity(participant, now_ms - 86400000, 366);
  if (!id.ok()) {
    std::cerr << "MakeIdentity: " << id.status().ToString() << "\n";
    std::abort();
  }
  return *id;
}

Identity MakeIdentity(const std::string& participant) {
  return MakeIdentityAt(participant, Clock::System()->NowMs());
}

std::string SampleAddressChange() {
  auto bytes = CaseEventFromJson(R"({
    "body_type": "AddressChange",
    "body": {
      "citizen": {
        "nir": "284057512345672",
        "identity": {"birth_name": "MARTIN", "given_names": ["Claire", "Anne"],
                     "birth_date": "1984-05-12", "sex": "Female",
                     "birthplace_cog": "75115", "birth_country_cog": "99100"}
      },
      "effective_date": "2026-12-01",
      "old_address": {"lines": ["12 rue des Lilas"], "postcode": "75015",
                      "city": "Paris", "city_cog": "75115",
                      "country_cog": "99100"},
      "new_address": {"lines": ["4 place du Marché"], "postcode": "69003",
                      "city": "Lyon", "city_cog": "69383",
                      "country_cog": "99100"},
      "contact": {"email": "claire.martin@example.org"},
      "references": [{"agency": "caf", "identifier": "1234567", "scope": "751"}]
    }
  })");
  if (!bytes.ok()) {
    std::cerr << "SampleAddressChange: " << bytes.status().ToString() << "\n";
    std::abort();
  }
  return *bytes;
}

EnvelopeDraft SampleDraft(const std::string& sender,
                          std::vector<std::string> recipients,
                          std::chrono::milliseconds ttl) {
  EnvelopeDraft d;
  d.case_id = *NewCaseId(Clock::System()->NowMs());
  d.sender = sender;
  d.recipients = std::move(recipients);
  d.case_type = wire::CaseType::AddressChange;
  d.payload = SampleAddressChange();
  d.created_at_ms = Clock::System()->NowMs();
  d.expires_at_ms = d.created_at_ms + ttl.count();
  return d;
}

SealFields SealOf(const EnvelopeView& v) {
  return {std::string(v.batch_root), std::string(v.batch_root_signature),
          std::string(v.batch_path), v.batch_leaf_index,
          v.batch_leaf_count,        std::string(v.signature)};
}

std::string Rewrap(const EnvelopeView& v, const SealFields& seal) {
  flatbuffers::FlatBufferBuilder fbb;
  auto batch = wire::CreateBatchSeal(
      fbb, CreateBytes(fbb, seal.root), CreateBytes(fbb, seal.root_signature),
      seal.index, seal.count, CreateBytes(fbb, seal.path));
  auto env = wire::CreateEnvelope(
      fbb, CreateNestedBytes(fbb, v.header_bytes),
      CreateNestedBytes(fbb, v.payload),
      seal.signature.empty() ? 0 : CreateBytes(fbb, seal.signature), batch);
  fbb.Finish(env, kEnvelopeIdentifier);
  return BufferBytes(fbb);
}

KeyDirectory DirectoryOf(const std::vector<const Identity*>& identities) {
  KeyDirectory dir;
  for (const auto* id : identities) dir.Add(PublicOf(*id)).PermitUnchecked();
  return dir;
}

std::string Slurp(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

void Spit(const std::filesystem::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
}

std::vector<std::string> FileNames(const std::filesystem::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string SourcePath(const std::string& rel) {
  const char* src = std::getenv("RELAIS_SOURCE_DIR");
  return std::string(src ? src : ".") + "/" + rel;
}

std::string MakeTestDir() {
  const char* tmp = std::getenv("TMPDIR");
  std::string name = "test";
  if (const auto* info =
          ::testing::UnitTest::GetInstance()->current_test_info()) {
    name = std::string(info->test_suite_name()) + "." + info->name();
  }
  for (char& c : name) {
    if (c == '/') c = '_';
  }
  std::string pattern =
      std::string(tmp && *tmp ? tmp : "/tmp") + "/relais-" + name + "-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    std::cerr << "mkdtemp " << pattern << ": " << std::strerror(errno) << "\n";
    std::abort();
  }
  return pattern;
}

CreatedFiles::CreatedFiles(const std::string& dir)
    : fd_(::inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) {
  if (fd_ < 0 || ::inotify_add_watch(fd_, dir.c_str(), IN_CREATE) < 0) {
    ADD_FAILURE() << "inotify on " << dir << ": " << std::strerror(errno);
  }
}

CreatedFiles::~CreatedFiles() {
  if (fd_ >= 0) ::close(fd_);
}

bool CreatedFiles::Seen(const std::string& name) {
  alignas(inotify_event) char buffer[4096];
  for (;;) {
    const ssize_t n = fd_ < 0 ? -1 : ::read(fd_, buffer, sizeof(buffer));
    if (n <= 0) break;
    for (ssize_t at = 0; at < n;) {
      const auto* e = reinterpret_cast<const inotify_event*>(buffer + at);
      if (e->len > 0) seen_.insert(e->name);
      at += static_cast<ssize_t>(sizeof(inotify_event) + e->len);
    }
  }
  return seen_.count(name) > 0;
}

namespace {

// A socket and the address 127.0.0.1:`port` for it.
int LoopbackSocket(int port, sockaddr_in* address) {
  *address = sockaddr_in{};
  address->sin_family = AF_INET;
  address->sin_port = htons(static_cast<uint16_t>(port));
  address->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return ::socket(AF_INET, SOCK_STREAM, 0);
}

}  // namespace

int ConnectToLoopback(int port) {
  sockaddr_in address;
  const int fd = LoopbackSocket(port, &address);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&address),
                           sizeof(address)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

int ListenOnLoopback(int port) {
  sockaddr_in address;
  const int fd = LoopbackSocket(port, &address);
  if (fd >= 0 && (::bind(fd, reinterpret_cast<sockaddr*>(&address),
                         sizeof(address)) != 0 ||
                  ::listen(fd, 1) != 0)) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace relais::testing
