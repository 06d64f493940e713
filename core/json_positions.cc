#include "core/json_positions.h"

#include <algorithm>
#include <set>

namespace relais {

using JsonPointer = nlohmann::json::json_pointer;

// A recursive-descent walk of RFC 8259 JSON that records where each value
// starts; depth is bounded like nlohmann's default use here.
struct JsonPositions::Scanner {
  static constexpr int kMaxDepth = 256;

  std::string_view text;
  size_t i = 0;
  JsonPositions& out;

  Status Error(const std::string& what) const {
    const TextPosition p = out.At(std::min(i, text.size()));
    return Status::InvalidArgument("line " + std::to_string(p.line) +
                                   ", column " + std::to_string(p.column) +
                                   ": " + what);
  }

  void Space() {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' ||
                               text[i] == '\n' || text[i] == '\r')) {
      ++i;
    }
  }

  bool Eat(char c) {
    if (i < text.size() && text[i] == c) {
      ++i;
      return true;
    }
    return false;
  }

  // A string; `decoded` gets its value (escapes resolved as UTF-8).
  Status String(std::string* decoded) {
    if (!Eat('"')) return Error("expected a string");
    for (;;) {
      if (i >= text.size()) return Error("a string is not closed");
      const char c = text[i];
      if (static_cast<unsigned char>(c) < 0x20) {
        return Error("a control character inside a string");
      }
      ++i;
      if (c == '"') return Status::OK();
      if (c != '\\') {
        decoded->push_back(c);
        continue;
      }
      if (i >= text.size()) return Error("a string is not closed");
      const char e = text[i++];
      switch (e) {
        case '"':
        case '\\':
        case '/':
          decoded->push_back(e);
          break;
        case 'b':
        case 'f':
        case 'n':
        case 'r':
        case 't':
          decoded->push_back(e == 'b'   ? '\b'
                             : e == 'f' ? '\f'
                             : e == 'n' ? '\n'
                             : e == 'r' ? '\r'
                                        : '\t');
          break;
        case 'u': {
          uint32_t code = 0;
          RELAIS_RETURN_IF_ERROR(Hex4(&code));
          if (code >= 0xD800 && code < 0xDC00 && text.substr(i, 2) == "\\u") {
            i += 2;
            uint32_t low = 0;
            RELAIS_RETURN_IF_ERROR(Hex4(&low));
            if (low < 0xDC00 || low > 0xDFFF) return Error("a lone surrogate");
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
          }
          AppendUtf8(code, decoded);
          break;
        }
        default:
          return Error("an unknown escape in a string");
      }
    }
  }

  Status Hex4(uint32_t* code) {
    if (i + 4 > text.size()) return Error("a \\u escape is cut short");
    for (int k = 0; k < 4; ++k) {
      const char c = text[i++];
      const int v = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : -1;
      if (v < 0) return Error("a \\u escape needs 4 hex digits");
      *code = *code * 16 + static_cast<uint32_t>(v);
    }
    return Status::OK();
  }

  static void AppendUtf8(uint32_t c, std::string* out) {
    if (c < 0x80) {
      out->push_back(static_cast<char>(c));
    } else if (c < 0x800) {
      out->push_back(static_cast<char>(0xC0 | (c >> 6)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else if (c < 0x10000) {
      out->push_back(static_cast<char>(0xE0 | (c >> 12)));
      out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    } else {
      out->push_back(static_cast<char>(0xF0 | (c >> 18)));
      out->push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
      out->push_back(static_cast<char>(0x80 | (c & 0x3F)));
    }
  }

  Status Literal(std::string_view word) {
    if (text.substr(i, word.size()) != word) return Error("not a JSON value");
    i += word.size();
    return Status::OK();
  }

  Status Number() {
    const size_t start = i;
    Eat('-');
    auto digits = [&] {
      const size_t from = i;
      while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
      return i - from;
    };
    if (digits() == 0) return Error("not a JSON value");
    if (text[start] == '0' || (text[start] == '-' && text[start + 1] == '0')) {
      if (i - start > (text[start] == '-' ? 2u : 1u)) {
        return Error("a number with a leading zero");
      }
    }
    if (Eat('.') && digits() == 0) return Error("a number ends with '.'");
    if (Eat('e') || Eat('E')) {
      if (!Eat('+')) Eat('-');
      if (digits() == 0) return Error("an exponent without digits");
    }
    return Status::OK();
  }

  Status Value(const JsonPointer& at, int depth) {
    if (depth > kMaxDepth) return Error("nested too deeply");
    Space();
    out.starts_[at.to_string()] = i;
    if (i >= text.size()) return Error("the text ends where a value is due");
    switch (text[i]) {
      case '{':
        return Object(at, depth);
      case '[':
        return Array(at, depth);
      case '"': {
        std::string ignored;
        return String(&ignored);
      }
      case 't':
        return Literal("true");
      case 'f':
        return Literal("false");
      case 'n':
        return Literal("null");
      default:
        return Number();
    }
  }

  Status Object(const JsonPointer& at, int depth) {
    ++i;  // '{'
    Space();
    if (Eat('}')) return Status::OK();
    std::set<std::string> names;
    for (;;) {
      Space();
      std::string name;
      RELAIS_RETURN_IF_ERROR(String(&name));
      const JsonPointer member = at / name;
      if (!names.insert(name).second) out.repeated_.push_back(member);
      Space();
      if (!Eat(':')) return Error("expected ':' after a member name");
      // The second occurrence of a repeated name is the one kept by
      // nlohmann; point at it.
      RELAIS_RETURN_IF_ERROR(Value(member, depth + 1));
      Space();
      if (Eat('}')) return Status::OK();
      if (!Eat(',')) return Error("expected ',' or '}' in an object");
    }
  }

  Status Array(const JsonPointer& at, int depth) {
    ++i;  // '['
    Space();
    if (Eat(']')) return Status::OK();
    for (size_t n = 0;; ++n) {
      RELAIS_RETURN_IF_ERROR(Value(at / n, depth + 1));
      Space();
      if (Eat(']')) return Status::OK();
      if (!Eat(',')) return Error("expected ',' or ']' in an array");
    }
  }
};

std::optional<TextPosition> RepeatedKeyAt(std::string_view text) {
  auto positions = JsonPositions::Scan(text);
  return positions.ok() ? positions->FirstRepeated() : std::nullopt;
}

Status CheckNoRepeatedKeys(std::string_view text) {
  RELAIS_ASSIGN_OR_RETURN(JsonPositions positions, JsonPositions::Scan(text));
  const std::optional<TextPosition> at = positions.FirstRepeated();
  if (!at) return Status::OK();
  return Status::InvalidArgument(
      "a key appears twice in the same object (line " +
      std::to_string(at->line) + ", column " + std::to_string(at->column) +
      ")");
}

Result<JsonPositions> JsonPositions::Scan(std::string_view text) {
  JsonPositions p;
  p.line_starts_.push_back(0);
  for (size_t k = 0; k < text.size(); ++k) {
    if (text[k] == '\n') p.line_starts_.push_back(k + 1);
  }
  Scanner s{text, 0, p};
  RELAIS_RETURN_IF_ERROR(s.Value(JsonPointer(), 0));
  s.Space();
  if (s.i != text.size()) return s.Error("more text after the JSON value");
  return p;
}

TextPosition JsonPositions::At(size_t offset) const {
  auto it = std::upper_bound(line_starts_.begin(), line_starts_.end(), offset);
  const size_t line = static_cast<size_t>(it - line_starts_.begin());
  return {line, offset - line_starts_[line - 1] + 1};
}

TextPosition JsonPositions::Of(const JsonPointer& where) const {
  JsonPointer p = where;
  for (;;) {
    if (auto it = starts_.find(p.to_string()); it != starts_.end()) {
      return At(it->second);
    }
    if (p.empty()) return {1, 1};
    p.pop_back();
  }
}

}  // namespace relais
