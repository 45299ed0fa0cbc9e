// produce.h: vigil-produce end to end: source, sink, labels, stats, exit code.
//
//   Result<ProduceConfig> cfg = ParseFlags(argc, argv, getenv);
//   return RunProduce(*cfg, std::cerr);
#pragma once

#include <ostream>

#include "flags.h"

namespace vigil::sim {

/// Exit codes of vigil-produce.
constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;  ///< delivery errors, unsent messages, write errors
constexpr int kExitUsage = 2;   ///< bad flags, unreadable input

/// \brief Run the configured simulation or replay; messages go to `err`.
int RunProduce(const ProduceConfig& config, std::ostream& err);

}  // namespace vigil::sim
