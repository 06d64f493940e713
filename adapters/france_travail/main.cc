// relais-adapter-france-travail: France Travail's adapter (adapters/README.md).
#include <memory>

#include "adapters/france_travail/translator.h"
#include "adapters/sdk/adapter.h"

int main(int argc, char** argv) {
  return relais::sdk::AdapterMain(
      argc, argv, "relais-adapter-france-travail",
      std::make_unique<
          relais::adapters::france_travail::FranceTravailTranslator>());
}
