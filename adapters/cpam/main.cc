// relais-adapter-cpam: the CPAM's adapter (adapters/README.md).
#include <memory>

#include "adapters/cpam/translator.h"
#include "adapters/sdk/adapter.h"

int main(int argc, char** argv) {
  return relais::sdk::AdapterMain(
      argc, argv, "relais-adapter-cpam",
      std::make_unique<relais::adapters::cpam::CpamTranslator>());
}
