// vigil-produce: simulate an IoT fleet or replay a file into Kafka. See --help
// and README.md. This file only parses flags; the work is in vigil_sim.
#include <cstdlib>
#include <iostream>

#include "flags.h"
#include "produce.h"

int main(int argc, char** argv) {
  vigil::Result<vigil::sim::ProduceConfig> config =
      vigil::sim::ParseFlags(argc, argv, [](const char* name) { return std::getenv(name); });
  if (!config.ok()) {
    std::cerr << "vigil-produce: error: " << config.status().message()
              << "\nrun 'vigil-produce --help' for the flags\n";
    return vigil::sim::kExitUsage;
  }
  if (config->help) {
    std::cout << vigil::sim::Usage();
    return vigil::sim::kExitOk;
  }
  return vigil::sim::RunProduce(*config, std::cerr);
}
