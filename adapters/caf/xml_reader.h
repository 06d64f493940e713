#pragma once

// The CAF's XML batch files, read (ISO-8859-1, expat): the same shape the
// CAF's outbox writes (translator.h), turned into the native JSON tree the
// mapping reads (translation::Mapping::Read).
//
//   <?xml version="1.0" encoding="ISO-8859-1"?>
//   <naissance dossier="...">          root: the case type's native name;
//     <etape>NAISSANCE</etape>         dossier (optional): the case id
//     <parents>                        an element whose children all bear
//       <parent>...</parent>           the array's item name (XmlItem)
//     </parents>                       is an array; other elements with
//     ...                              children are objects; the rest text
//   </naissance>
//
// Thread-safe (one expat parser per call).

#include <string_view>

#include "adapters/translation/mapping.h"
#include "adapters/translation/native.h"
#include "core/status.h"

namespace relais::adapters::caf {

// InvalidArgument "line N: ..." for a file that is not ISO-8859-1 text
// (CheckLatin1Text), whose declaration does not say encoding="ISO-8859-1",
// that is not well-formed, or that has a DOCTYPE, mixed content, repeated
// elements outside an array, or more than 32 levels.
Result<translation::native::json> ReadCafXml(
    std::string_view bytes, const translation::Mapping& mapping);

}  // namespace relais::adapters::caf
