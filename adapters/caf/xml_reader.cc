#include "adapters/caf/xml_reader.h"

#include <expat.h>

#include <memory>
#include <string>
#include <vector>

#include "adapters/caf/latin1.h"

namespace relais::adapters::caf {
namespace {

using translation::native::json;

constexpr size_t kMaxDepth = 32;

struct Node {
  std::string name;
  std::string text;
  std::vector<std::unique_ptr<Node>> children;
  std::vector<std::pair<std::string, std::string>> attributes;
  int line = 0;
};

struct State {
  XML_Parser parser = nullptr;
  std::unique_ptr<Node> root;
  std::vector<Node*> open;
  std::string error;

  void Fail(const std::string& why) {
    if (error.empty()) {
      error = "line " + std::to_string(XML_GetCurrentLineNumber(parser)) +
              ": " + why;
    }
    XML_StopParser(parser, XML_FALSE);
  }
};

void XMLCALL Start(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto* s = static_cast<State*>(data);
  if (s->open.size() >= kMaxDepth) return s->Fail("more than 32 levels");
  auto node = std::make_unique<Node>();
  node->name = name;
  node->line = static_cast<int>(XML_GetCurrentLineNumber(s->parser));
  for (size_t i = 0; attrs[i] != nullptr; i += 2) {
    node->attributes.emplace_back(attrs[i], attrs[i + 1]);
  }
  Node* raw = node.get();
  if (s->open.empty()) {
    s->root = std::move(node);
  } else {
    s->open.back()->children.push_back(std::move(node));
  }
  s->open.push_back(raw);
}

void XMLCALL End(void* data, const XML_Char*) {
  static_cast<State*>(data)->open.pop_back();
}

void XMLCALL Text(void* data, const XML_Char* s, int len) {
  auto* st = static_cast<State*>(data);
  if (!st->open.empty()) st->open.back()->text.append(s, len);
}

void XMLCALL Doctype(void* data, const XML_Char*, const XML_Char*,
                     const XML_Char*, int) {
  static_cast<State*>(data)->Fail("a DOCTYPE is not allowed");
}

bool Blank(const std::string& s) {
  return s.find_first_not_of(" \t\r\n") == std::string::npos;
}

std::string Trimmed(const std::string& s) {
  const size_t b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r\n") - b + 1);
}

Result<json> ToJson(const Node& n, const translation::Mapping& m) {
  // An element's name is the partner's: it may be anything, and reasons
  // are logged. The line says where; a name the mapping knows may be said.
  const auto bad = [&](const std::string& why) {
    return Status::InvalidArgument("line " + std::to_string(n.line) + ": " +
                                   why);
  };
  if (n.children.empty()) {
    if (!n.attributes.empty()) return bad("attributes are not read here");
    return json(Trimmed(n.text));
  }
  if (!Blank(n.text)) return bad("text beside child elements");
  const std::string item = m.XmlItem(n.name);
  bool array = true;
  for (const auto& c : n.children) array = array && c->name == item;
  json out = array ? json::array() : json::object();
  for (const auto& c : n.children) {
    RELAIS_ASSIGN_OR_RETURN(json v, ToJson(*c, m));
    if (array) {
      out.push_back(std::move(v));
    } else if (out.contains(c->name)) {
      return bad("an element given twice (an array's items are <" + item +
                 "> in their list)");
    } else {
      out[c->name] = std::move(v);
    }
  }
  return out;
}

}  // namespace

Result<json> ReadCafXml(std::string_view bytes, const translation::Mapping& m) {
  RELAIS_RETURN_IF_ERROR(CheckLatin1Text(bytes));
  const std::string head(bytes.substr(0, bytes.find("?>") + 2));
  if (!head.starts_with("<?xml") ||
      (head.find("encoding=\"ISO-8859-1\"") == std::string::npos &&
       head.find("encoding='ISO-8859-1'") == std::string::npos)) {
    return Status::InvalidArgument(
        "line 1: the declaration must be <?xml version=\"1.0\" "
        "encoding=\"ISO-8859-1\"?>");
  }
  State s;
  std::unique_ptr<XML_ParserStruct, decltype(&XML_ParserFree)> parser(
      XML_ParserCreate("ISO-8859-1"), &XML_ParserFree);
  if (!parser) return Status::Internal("cannot create an XML parser");
  s.parser = parser.get();
  XML_SetUserData(s.parser, &s);
  XML_SetElementHandler(s.parser, Start, End);
  XML_SetCharacterDataHandler(s.parser, Text);
  XML_SetStartDoctypeDeclHandler(s.parser, Doctype);
  if (XML_Parse(s.parser, bytes.data(), static_cast<int>(bytes.size()),
                XML_TRUE) == XML_STATUS_ERROR) {
    if (s.error.empty()) {
      s.error = "line " + std::to_string(XML_GetCurrentLineNumber(s.parser)) +
                ": " + XML_ErrorString(XML_GetErrorCode(s.parser));
    }
    return Status::InvalidArgument(s.error);
  }
  if (!s.root) return Status::InvalidArgument("line 1: no root element");
  // The root: the case type, and its case id; then its fields.
  json doc = json::object();
  doc[m.type_key()] = s.root->name;
  for (const auto& [name, value] : s.root->attributes) {
    if (name != m.case_key()) {
      return Status::InvalidArgument("line " + std::to_string(s.root->line) +
                                     ": attribute " + name + " (only " +
                                     m.case_key() + ")");
    }
    doc[m.case_key()] = value;
  }
  if (!Blank(s.root->text)) {
    return Status::InvalidArgument("line " + std::to_string(s.root->line) +
                                   ": text beside the fields");
  }
  for (const auto& c : s.root->children) {
    if (doc.contains(c->name)) {
      return Status::InvalidArgument("line " + std::to_string(c->line) +
                                     ": an element given twice");
    }
    RELAIS_ASSIGN_OR_RETURN(doc[c->name], ToJson(*c, m));
  }
  return doc;
}

}  // namespace relais::adapters::caf
