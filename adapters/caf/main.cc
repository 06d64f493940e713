// relais-adapter-caf: the CAF's adapter (adapters/README.md).
#include <memory>

#include "adapters/caf/translator.h"
#include "adapters/sdk/adapter.h"

int main(int argc, char** argv) {
  return relais::sdk::AdapterMain(
      argc, argv, "relais-adapter-caf",
      std::make_unique<relais::adapters::caf::CafTranslator>());
}
