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

constexpr size_t kMaxFilesPerHandOff = 64;

// A record's {"staging", "file"} pairs: one (the record of one file) or
// several ("files"); empty if the record is not one of Prepare's.
std::vector<std::pair<std::string, std::string>> RecordFiles(
    const nlohmann::json& r) {
  std::vector<std::pair<std::string, std::string>> out;
  auto one = [&out](const nlohmann::json& f) {
    if (!f.is_object() || !f.contains("staging") || !f.contains("file") ||
        !f["staging"].is_string() || !f["file"].is_string()) {
      return false;
    }
    out.emplace_back(f["staging"].get<std::string>(),
                     f["file"].get<std::string>());
    return true;
  };
  if (r.contains("files") && r["files"].is_array() &&
      r["files"].size() <= kMaxFilesPerHandOff) {
    for (const auto& f : r["files"]) {
      if (!one(f)) return {};
    }
  } else if (!one(r)) {
    return {};
  }
  return out;
}

}  // namespace

std::string FolderHandOffs::StagingName(std::string_view message_id,
                                        size_t index) {
  return std::string(kStagingPrefix) + HexEncode(message_id) +
         (index == 0 ? "" : "." + std::to_string(index)) +
         std::string(kStagingSuffix);
}

Result<std::string> FolderHandOffs::Prepare(const std::string& folder,
                                            std::string_view message_id,
                                            const std::string& file_name,
                                            std::string_view contents) const {
  return PrepareAll(folder, message_id, {{file_name, contents}});
}

Result<std::string> FolderHandOffs::PrepareAll(
    const std::string& folder, std::string_view message_id,
    const std::vector<File>& files) const {
  auto it = folders_.find(folder);
  if (it == folders_.end()) {
    return Status::InvalidArgument("no folder '" + folder +
                                   "' to hand over to");
  }
  if (files.empty() || files.size() > kMaxFilesPerHandOff) {
    return Status::InvalidArgument("1 to 64 files are handed over at once");
  }
  for (const File& f : files) {
    if (!PlainFileName(f.name)) {
      return Status::InvalidArgument(
          "a partner's file name must be 1 to 255 characters, without '/' "
          "and not starting with '.'");
    }
  }
  nlohmann::json list = nlohmann::json::array();
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string staging = StagingName(message_id, i);
    RELAIS_RETURN_IF_ERROR(WriteFileAtomic(
        (fs::path(it->second) / staging).string(), files[i].contents));
    list.push_back({{"staging", staging}, {"file", files[i].name}});
  }
  // One file: the record as it has always been (records kept by an
  // earlier version complete alike).
  if (files.size() == 1) {
    nlohmann::json r = std::move(list[0]);
    r["folder"] = folder;
    return r.dump();
  }
  return nlohmann::json{{"folder", folder}, {"files", std::move(list)}}.dump();
}

Status FolderHandOffs::Complete(const std::vector<std::string>& records) const {
  std::set<std::string> touched;
  for (const auto& text : records) {
    const auto r = nlohmann::json::parse(text, nullptr, false);
    const auto files = r.is_object()
                           ? RecordFiles(r)
                           : std::vector<std::pair<std::string, std::string>>();
    if (files.empty() || !r.contains("folder") || !r["folder"].is_string()) {
      return Status::Corruption(
          "a hand-off record is not one of this adapter's");
    }
    auto it = folders_.find(r["folder"].get<std::string>());
    if (it == folders_.end()) {
      return Status::Corruption("a hand-off record names an unknown folder");
    }
    for (const auto& [staging, file] : files) {
      if (!PlainFileName(file) || !staging.starts_with(kStagingPrefix) ||
          staging.find('/') != std::string::npos) {
        return Status::Corruption(
            "a hand-off record names an unsafe file name");
      }
      std::error_code ec;
      fs::rename(fs::path(it->second) / staging, fs::path(it->second) / file,
                 ec);
      if (ec && ec != std::errc::no_such_file_or_directory) {
        return Status::IOError("cannot hand " + file + " over in " +
                               it->second + ": " + ec.message());
      }
      // No hidden file: the rename was done before a crash (and the
      // partner may already have taken the file). Nothing to do.
      if (!ec) CrashPoint("handoff.renamed");
    }
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
