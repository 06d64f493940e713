#pragma once

// FlatBuffers helpers shared by every parser and builder of relais buffers.
// Untrusted bytes reach an accessor only through VerifiedRoot.

#include <flatbuffers/flatbuffers.h>

#include <string>
#include <string_view>

namespace relais {

// Root of type T in `bytes` after the FlatBuffers Verifier accepted it and
// its file identifier equals `identifier` (4 characters). Null otherwise.
// Nested FlatBuffers are verified too unless `verify_nested` is false (the
// caller then verifies them itself, with their identifiers).
template <typename T>
const T* VerifiedRoot(std::string_view bytes, const char* identifier,
                      bool verify_nested = true) {
  using flatbuffers::soffset_t;  // FLATBUFFERS_MIN_BUFFER_SIZE names them bare
  using flatbuffers::uoffset_t;
  if (bytes.size() < FLATBUFFERS_MIN_BUFFER_SIZE ||
      bytes.size() >= FLATBUFFERS_MAX_BUFFER_SIZE) {
    return nullptr;
  }
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier::Options options;
  options.max_depth = 32;
  options.max_tables = 100000;
  options.check_nested_flatbuffers = verify_nested;
  flatbuffers::Verifier verifier(data, bytes.size(), options);
  if (!verifier.VerifyBuffer<T>(identifier)) return nullptr;
  return flatbuffers::GetRoot<T>(data);
}

// A [ubyte] vector holding `bytes`, its data aligned to 8 so that a nested
// FlatBuffer inside it can be read in place.
inline flatbuffers::Offset<flatbuffers::Vector<uint8_t>> CreateNestedBytes(
    flatbuffers::FlatBufferBuilder& fbb, std::string_view bytes) {
  fbb.ForceVectorAlignment(bytes.size(), 1, 8);
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()),
                          bytes.size());
}

inline flatbuffers::Offset<flatbuffers::Vector<uint8_t>> CreateBytes(
    flatbuffers::FlatBufferBuilder& fbb, std::string_view bytes) {
  return fbb.CreateVector(reinterpret_cast<const uint8_t*>(bytes.data()),
                          bytes.size());
}

// A finished builder's bytes.
inline std::string BufferBytes(const flatbuffers::FlatBufferBuilder& fbb) {
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                     fbb.GetSize());
}

// The bytes of a [ubyte] vector; empty for a null vector.
inline std::string_view VectorBytes(const flatbuffers::Vector<uint8_t>* v) {
  if (v == nullptr) return {};
  return {reinterpret_cast<const char*>(v->data()), v->size()};
}

inline std::string_view StringView(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view() : s->string_view();
}

}  // namespace relais
