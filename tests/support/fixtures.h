#pragma once

// Test fixtures shared by unit and integration tests: identities, a sample
// case event and sealed envelopes.

#include <string>
#include <vector>

#include "core/envelope.h"
#include "core/keys.h"

namespace relais::testing {

// A fresh identity valid from one day ago for a year; aborts the test
// binary on failure (it never fails with a working OpenSSL).
Identity MakeIdentity(const std::string& participant);

// Bytes of an AddressChange CaseEvent for a sample citizen.
std::string SampleAddressChange();

// A draft from `sender` to `recipients` carrying SampleAddressChange(),
// created now and expiring in one hour.
EnvelopeDraft SampleDraft(const std::string& sender,
                          std::vector<std::string> recipients);

// A KeyDirectory holding the public identities of `identities`.
KeyDirectory DirectoryOf(const std::vector<const Identity*>& identities);

}  // namespace relais::testing
