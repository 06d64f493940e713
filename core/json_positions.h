#pragma once

// Where each value of a JSON text is, so that an error about a field can
// point at the line and column of the person's own file.
//
// nlohmann::json keeps no positions; this scans the same text once more.

#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"

namespace relais {

// 1-based; the column counts bytes.
struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};

class JsonPositions {
 public:
  // Scans `text`, which must hold one JSON value (InvalidArgument with the
  // line and column of the first error otherwise, naming the kind of
  // error but never the bytes read). Keeps `text`'s line starts only.
  static Result<JsonPositions> Scan(std::string_view text);

  // Where the value at `where` starts; for a member that is not there,
  // where its nearest enclosing value starts.
  TextPosition Of(const nlohmann::json::json_pointer& where) const;

  // Members whose name appears twice in the same object (JSON parsers keep
  // one of them silently), each at its second occurrence.
  const std::vector<nlohmann::json::json_pointer>& repeated() const {
    return repeated_;
  }
  // Where the first of them is; none if no member is repeated.
  std::optional<TextPosition> FirstRepeated() const {
    if (repeated_.empty()) return std::nullopt;
    return Of(repeated_.front());
  }

 private:
  struct Scanner;
  TextPosition At(size_t offset) const;

  std::map<std::string, size_t> starts_;  // json_pointer text -> offset
  std::vector<size_t> line_starts_;
  std::vector<nlohmann::json::json_pointer> repeated_;
};

// Where an object of `text` (one JSON value) names a member the second
// time (JSON parsers keep one of the two silently); none if no object
// does, or if `text` is not JSON (Scan says why).
std::optional<TextPosition> RepeatedKeyAt(std::string_view text);

// OK if no object of `text` names a member twice; else InvalidArgument "a
// key appears twice in the same object (line L, column C)", without the
// key. A text that is not JSON: as Scan.
Status CheckNoRepeatedKeys(std::string_view text);

}  // namespace relais
