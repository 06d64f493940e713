#include "core/toml_file.h"

#include <sstream>

#include "core/files.h"
#include "core/text.h"

namespace relais {

Result<toml::table> ParseToml(const std::string& text,
                              const std::string& origin) {
  try {
    return toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ":"
        << e.source().begin.column << ": " << e.description();
    return Status::InvalidArgument(msg.str());
  }
}

Result<toml::table> ParseTomlFile(const std::string& path) {
  RELAIS_ASSIGN_OR_RETURN(std::string text, ReadFile(path, 4 << 20));
  return ParseToml(text, path);
}

namespace {

std::string Place(const std::string& origin, const toml::node& node) {
  const auto& at = node.source().begin;
  return origin + ":" + std::to_string(at.line) + ":" +
         std::to_string(at.column);
}

}  // namespace

Status CheckKnownKeys(const toml::table& table,
                      std::initializer_list<std::string_view> known,
                      const std::string& origin, std::string_view where) {
  for (const auto& [key, node] : table) {
    (void)node;
    bool ok = false;
    for (std::string_view k : known) ok = ok || k == key.str();
    if (ok) continue;
    std::string list;
    for (std::string_view k : known) {
      list += (list.empty() ? "" : ", ") + std::string(k);
    }
    const auto& at = key.source().begin;
    return Status::InvalidArgument(
        origin + ":" + std::to_string(at.line) + ":" +
        std::to_string(at.column) + ": unknown key '" + Escaped(key.str(), 64) +
        "' in " + std::string(where) + " (known: " + list + ")");
  }
  return Status::OK();
}

Result<std::string> StringAt(const toml::table& table, std::string_view key,
                             const std::string& fallback,
                             const std::string& origin) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return fallback;
  if (auto s = node->value<std::string>(); s && node->is_string()) return *s;
  return Status::InvalidArgument(Place(origin, *node) + ": '" +
                                 std::string(key) + "' must be a string");
}

Result<int64_t> IntegerAt(const toml::table& table, std::string_view key,
                          int64_t fallback, int64_t min, int64_t max,
                          const std::string& origin) {
  const toml::node* node = table.get(key);
  if (node == nullptr) return fallback;
  auto v = node->value<int64_t>();
  if (!node->is_integer() || !v || *v < min || *v > max) {
    return Status::InvalidArgument(
        Place(origin, *node) + ": '" + std::string(key) +
        "' must be an integer from " + std::to_string(min) + " to " +
        std::to_string(max));
  }
  return *v;
}

}  // namespace relais
