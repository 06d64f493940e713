#pragma once

// An agency's mapping file (adapters/<agency>/mapping.toml): how its native
// documents name and write the fields of a case (schemas/cases.fbs), in
// both directions, for all eight case types:
//
//   Render  a delivered CaseEvent -> the agency's native document (a JSON
//           tree; the CAF writes the same tree as ISO-8859-1 XML);
//   Read    a native document -> a CaseEvent, checking every value (NIR,
//           numéro fiscal, dates, amounts, enumerations, required fields)
//           with errors that name the field by its native path
//           ("field assure.nir: NIR key does not match the first 13
//           characters ..."), never repeating the value.
//
// The file (adapters/README.md, "Mapping files") has these tables:
//
//   [document]   type, case, message, sender: the native keys of the
//                document's type, case id, message id and sender
//   [format]     dates = "YYYY-MM-DD" | "DD/MM/YYYY"; nir = 15 | 13 (13:
//                written without its key, read with or without);
//                amount_digits = N (euros zero-padded to N digits before
//                the point: 7 writes "0001675.00"; 0 writes "1675.00");
//                text_values = true reads numbers written as text (XML)
//   [types]      case type name ("address_change") -> native type name
//   [fields]     canonical field name, or "Table.field" for one table only,
//                -> native name; "*" merges a table's fields into its
//                parent; "-" leaves a field out. Every field of every case
//                table must be named: Parse fails otherwise
//   [values.E]   enumeration E's value names -> native codes (all of them)
//   [references] agency -> native key of that agency's identifier, or
//                {identifier = "...", scope = "..."}; references to other
//                agencies are not written (the recipient has no use for
//                them) and cannot be read
//   [xml_items]  for XML formats: array name -> element name of its items
//                (default: the array's name without its final "s")
//   [inbox.T]    the case types this agency sends, and to whom (the one
//                place recipients are decided): recipients = [...] lists
//                agencies, each either a name or {to = "cpam", when =
//                {css_opposition = false}} (sent only if every named field
//                of the case body has that value: a boolean, an integer,
//                or an enumeration's value as cases.fbs names it, e.g.
//                {stage = "Birth"}); recipients = "subscribers" for the
//                agencies the broker's reference directory names (routing
//                by subscription). reader = "agency" for a type the
//                agency's own code reads (a historical format); otherwise
//                the generic reader (Read) reads it
//
// A Mapping is immutable after Parse and safe to use from any thread.

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "adapters/translation/native.h"
#include "adapters/translation/translator.h"
#include "core/envelope.h"
#include "core/status.h"

namespace flatbuffers {
class Parser;
struct StructDef;
struct FieldDef;
}  // namespace flatbuffers

namespace relais::translation {

class Mapping;
using MappingPtr = std::shared_ptr<const Mapping>;

class Mapping {
 public:
  // InvalidArgument "<origin>: ..." for a file that is not valid TOML, a
  // table or key this format does not have, or a field of cases.fbs left
  // without a native name.
  static Result<MappingPtr> Parse(std::string_view toml_text,
                                  const std::string& origin);

  // The native document of a delivered case: the header keys first (type,
  // case, message, sender), then the body's fields in schema order.
  // InvalidArgument "field <native path>: ..." for a value that cannot be
  // written (a NIR or numéro fiscal that fails its check, a date that does
  // not exist); NotFound "<agency> does not take <type> cases" for a type
  // without a native name.
  Result<native::json> Render(const EnvelopeView& envelope,
                              const wire::CaseEvent& event) const;

  // True if this agency sends `native_type` documents through the
  // generic reader (an [inbox] type without reader = "agency").
  bool Reads(std::string_view native_type) const;
  // One case from a native document whose type Reads, without recipients
  // (Address gives them; MappedTranslator::ReadInbox calls it for every
  // case). InvalidArgument "field <native path>: ..." naming the first
  // field that is missing, unknown or wrong.
  Result<OutgoingCase> Read(const native::json& doc) const;
  // Sets the recipients of `c` (its case type and payload, CaseEvent bytes
  // this agency built) from [inbox.<case type>]: the listed agencies whose
  // conditions the case body meets, in the file's order, or routing by
  // subscription. Internal if the file has no [inbox] table for the case
  // type or the payload is not a case of that type.
  Status Address(OutgoingCase& c) const;

  // The CaseEvent bytes of a native document of any type this mapping
  // names, ignoring the keys `ignored` (e.g. the header keys a rendered
  // document carries: Render and ReadEvent are inverses, but for the
  // references to other agencies, which Render leaves out).
  Result<std::string> ReadEvent(const native::json& doc,
                                const std::vector<std::string>& ignored) const;
  const std::string& case_key() const { return case_key_; }
  const std::string& message_key() const { return message_key_; }
  const std::string& sender_key() const { return sender_key_; }

  // The native name of `case_type`, or "" if the agency has none.
  std::string TypeName(wire::CaseType case_type) const;
  // The element name of one item of the array `array` in XML.
  std::string XmlItem(const std::string& array) const;
  const std::string& type_key() const { return type_key_; }
  int amount_digits() const { return amount_digits_; }

  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  ~Mapping();

 private:
  Mapping();
  struct Reference {
    std::string agency, identifier_key, scope_key;
  };
  struct Walk;

  // The tables of the file (`toml_table`, a toml::table), one by one
  // (mapping_file.cc).
  Status Load(const std::string& origin, const void* toml_table);
  Status LoadDocument(const std::string& origin, const void* toml_table);
  Status LoadFormat(const std::string& origin, const void* toml_table);
  Status LoadReferences(const std::string& origin, const void* toml_table);
  Status LoadInbox(const std::string& origin, const void* toml_table);
  // Every field of every case table named, no native name used twice in
  // one object: InvalidArgument saying which (schema_ loaded).
  Status CheckNativeNames() const;
  Status CheckNamed(const flatbuffers::StructDef* table,
                    std::vector<const flatbuffers::StructDef*>& seen) const;
  // The native name of `field` in `table`: "*", "-", or a name.
  const std::string* NativeName(const flatbuffers::StructDef& table,
                                const flatbuffers::FieldDef& field) const;

  std::string agency_;
  std::unique_ptr<flatbuffers::Parser> schema_;
  std::string type_key_ = "type", case_key_ = "dossier",
              message_key_ = "message", sender_key_ = "emetteur";
  bool french_dates_ = false;
  int nir_length_ = 15;
  int amount_digits_ = 0;
  bool text_values_ = false;  // numbers may be read from text (XML)
  std::map<std::string, std::string> types_;   // case type name -> native
  std::map<std::string, std::string> fields_;  // canonical -> native
  std::map<std::string, std::string> xml_items_;
  // enum name -> (value name -> native code)
  std::map<std::string, std::map<std::string, std::string>> values_;
  std::vector<Reference> references_;
  // [inbox.T]: who is sent the cases of type T this agency reads. A
  // recipient with conditions is sent the case only if each named field of
  // the case body has the given value.
  struct Condition {
    const flatbuffers::FieldDef* field;
    int64_t value;
  };
  struct Recipient {
    std::string agency;
    std::vector<Condition> when;
  };
  struct Inbox {
    bool by_agency = false;  // read by the agency's own reader
    bool by_subscription = false;
    std::vector<Recipient> recipients;
  };
  Status LoadInboxType(const std::string& origin, wire::CaseType case_type,
                       const void* toml_table);
  Result<Recipient> LoadRecipient(const std::string& where,
                                  wire::CaseType case_type,
                                  const void* toml_node) const;
  // The [inbox] types read by the generic reader, by native name.
  std::vector<std::string> MappedInboxTypes() const;
  std::map<wire::CaseType, Inbox> inbox_;
};

}  // namespace relais::translation
