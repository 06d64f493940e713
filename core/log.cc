#include "core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "core/text.h"

namespace relais {
namespace {

// Escapes each message, then hands it to `inner`.
class EscapingSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit EscapingSink(std::shared_ptr<spdlog::sinks::sink> inner)
      : inner_(std::move(inner)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (ShownAsIs(payload)) {
      inner_->log(msg);
      return;
    }
    const std::string escaped = Escaped(payload, 64 << 10);
    spdlog::details::log_msg copy = msg;
    copy.payload = spdlog::string_view_t(escaped.data(), escaped.size());
    inner_->log(copy);
  }
  void flush_() override { inner_->flush(); }
  void set_pattern_(const std::string& pattern) override {
    inner_->set_pattern(pattern);
  }
  void set_formatter_(std::unique_ptr<spdlog::formatter> f) override {
    inner_->set_formatter(std::move(f));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> inner_;
};

// One JSON object per event, on stderr.
class JsonLinesSink : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit JsonLinesSink(std::string program) : program_(std::move(program)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        msg.time.time_since_epoch())
                        .count();
    const std::time_t seconds = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&seconds, &tm);
    char time[40];
    const size_t n =
        std::strftime(time, sizeof(time), "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(time + n, sizeof(time) - n, ".%03dZ",
                  static_cast<int>(ms % 1000));
    const auto level = spdlog::level::to_string_view(msg.level);
    const nlohmann::ordered_json line = {
        {"time", time},
        {"level", std::string(level.data(), level.size())},
        {"program", program_},
        {"message", ShownAsIs(payload) ? std::string(payload)
                                       : Escaped(payload, 64 << 10)}};
    const std::string text = line.dump() + "\n";
    std::fwrite(text.data(), 1, text.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }

 private:
  std::string program_;
};

}  // namespace

Status CheckLogFormat(const std::string& format) {
  if (format == "text" || format == "json") return Status::OK();
  return Status::InvalidArgument("log format '" + Escaped(format, 64) +
                                 "' is not one of text, json");
}

Result<spdlog::level::level_enum> ParseLogLevel(const std::string& name) {
  using L = spdlog::level::level_enum;
  static const std::pair<const char*, L> kLevels[] = {
      {"trace", L::trace},       {"debug", L::debug},  {"info", L::info},
      {"warn", L::warn},         {"warning", L::warn}, {"error", L::err},
      {"critical", L::critical}, {"off", L::off}};
  for (const auto& [n, level] : kLevels) {
    if (name == n) return level;
  }
  return Status::InvalidArgument(
      "log level '" + Escaped(name, 64) +
      "' is not one of trace, debug, info, warn, error, critical, off");
}

Status SetUpLog(const std::string& program, const std::string& level,
                const std::string& format) {
  RELAIS_ASSIGN_OR_RETURN(spdlog::level::level_enum l, ParseLogLevel(level));
  RELAIS_RETURN_IF_ERROR(CheckLogFormat(format));
  if (format == "json") {
    auto logger = std::make_shared<spdlog::logger>(
        program, std::make_shared<JsonLinesSink>(program));
    logger->set_level(l);
    spdlog::set_default_logger(std::move(logger));
    return Status::OK();
  }
  auto sink = std::make_shared<EscapingSink>(
      std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>(program, std::move(sink));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ " + program + ": %v");
  logger->set_level(l);
  spdlog::set_default_logger(std::move(logger));
  return Status::OK();
}

}  // namespace relais
