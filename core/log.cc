#include "core/log.h"

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <memory>
#include <mutex>

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
    if (IsCleanText(payload)) {
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

}  // namespace

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

Status SetUpLog(const std::string& program, const std::string& level) {
  RELAIS_ASSIGN_OR_RETURN(spdlog::level::level_enum l, ParseLogLevel(level));
  auto sink = std::make_shared<EscapingSink>(
      std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  auto logger = std::make_shared<spdlog::logger>(program, std::move(sink));
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ " + program + ": %v");
  logger->set_level(l);
  spdlog::set_default_logger(std::move(logger));
  return Status::OK();
}

}  // namespace relais
