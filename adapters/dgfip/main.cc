// relais-adapter-dgfip: the DGFiP's adapter (adapters/README.md).
#include <memory>

#include "adapters/dgfip/translator.h"
#include "adapters/sdk/adapter.h"

int main(int argc, char** argv) {
  return relais::sdk::AdapterMain(
      argc, argv, "relais-adapter-dgfip",
      std::make_unique<relais::adapters::dgfip::DgfipTranslator>());
}
