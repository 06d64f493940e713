#include "core/toml_file.h"

#include <sstream>

#include "core/files.h"

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

}  // namespace relais
