#include "adapters/sdk/folder_hand_off.h"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <set>

#include "core/bytes.h"
#include "core/crash_point.h"
#include "core/files.h"

namespace relais::sdk {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kStagingPrefix = ".relais-";
constexpr std::string_view kStagingSuffix = ".handoff";

bool PlainFileName(const std::string& name) {
  return !name.empty() && name.front() != '.' &&
         name.find('/') == std::string::npos && name.size() <= 255;
}

}  // namespace

std::string FolderHandOffs::StagingName(std::string_view message_id) {
  return std::string(kStagingPrefix) + HexEncode(message_id) +
         std::string(kStagingSuffix);
}

Result<std::string> FolderHandOffs::Prepare(const std::string& folder,
                                            std::string_view message_id,
                                            const std::string& file_name,
                                            std::string_view contents) const {
  auto it = folders_.find(folder);
  if (it == folders_.end()) {
    return Status::InvalidArgument("no folder '" + folder +
                                   "' to hand over to");
  }
  if (!PlainFileName(file_name)) {
    return Status::InvalidArgument(
        "a partner's file name must be 1 to 255 characters, without '/' and "
        "not starting with '.'");
  }
  const std::string staging = StagingName(message_id);
  RELAIS_RETURN_IF_ERROR(
      WriteFileAtomic((fs::path(it->second) / staging).string(), contents));
  return nlohmann::json{
      {"folder", folder}, {"staging", staging}, {"file", file_name}}
      .dump();
}

Status FolderHandOffs::Complete(const std::vector<std::string>& records) const {
  std::set<std::string> touched;
  for (const auto& text : records) {
    const auto r = nlohmann::json::parse(text, nullptr, false);
    if (!r.is_object() || !r.contains("folder") || !r.contains("staging") ||
        !r.contains("file") || !r["folder"].is_string() ||
        !r["staging"].is_string() || !r["file"].is_string()) {
      return Status::Corruption(
          "a hand-off record is not one of this adapter's");
    }
    auto it = folders_.find(r["folder"].get<std::string>());
    const std::string staging = r["staging"].get<std::string>();
    const std::string file = r["file"].get<std::string>();
    if (it == folders_.end() || !PlainFileName(file) ||
        !staging.starts_with(kStagingPrefix) ||
        staging.find('/') != std::string::npos) {
      return Status::Corruption(
          "a hand-off record names an unknown folder or "
          "an unsafe file name");
    }
    std::error_code ec;
    fs::rename(fs::path(it->second) / staging, fs::path(it->second) / file, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      return Status::IOError("cannot hand " + file + " over in " + it->second +
                             ": " + ec.message());
    }
    // No hidden file: the rename was done before a crash (and the partner
    // may already have taken the file). Nothing to do.
    if (!ec) CrashPoint("handoff.renamed");
    touched.insert(it->second);
  }
  for (const auto& dir : touched) RELAIS_RETURN_IF_ERROR(SyncDir(dir));
  return Status::OK();
}

size_t FolderHandOffs::RemoveOrphans() const {
  size_t removed = 0;
  for (const auto& [name, dir] : folders_) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      const std::string n = entry.path().filename().string();
      // The hidden file, or the temporary file it is written through.
      const bool staging =
          n.starts_with(kStagingPrefix) && n.ends_with(kStagingSuffix);
      const bool partial = n.starts_with("." + std::string(kStagingPrefix)) &&
                           n.ends_with(".tmp");
      if ((staging || partial) && fs::remove(entry.path(), ec)) {
        ++removed;
      }
    }
  }
  if (removed > 0) {
    spdlog::info(
        "removed {} file(s) prepared for the partner but never recorded "
        "before a restart (their deliveries come again)",
        removed);
  }
  return removed;
}

}  // namespace relais::sdk
