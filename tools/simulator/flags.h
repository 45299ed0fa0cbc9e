// flags.h: the command line of vigil-produce.
//
//   Result<ProduceConfig> cfg = ParseFlags(argc, argv, getenv);
//   if (!cfg.ok()) { std::cerr << cfg.status().message(); return 2; }
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "fleet.h"
#include "replay.h"
#include "run.h"
#include "sink.h"
#include "vigil/status.h"

namespace vigil::sim {

/// \brief Everything the command line chose.
struct ProduceConfig {
  bool help = false;
  bool dry_run = false;
  std::string output = "-";          ///< --dry-run destination
  std::string labels_path;           ///< empty: no labels file
  std::string stats_path;            ///< empty: no stats file
  bool replay = false;
  FleetOptions fleet;
  ReplayOptions replay_options;
  RunOptions run;
  KafkaSinkOptions kafka;
};

/// \brief Look up an environment variable (nullptr if unset); injectable for tests.
using GetEnv = std::function<const char*(const char*)>;

/// \brief Parse `argv`; defaults for --bootstrap and --topic come from KAFKA_BOOTSTRAP and
/// KAFKA_TOPIC. Errors name the flag and the bad value.
Result<ProduceConfig> ParseFlags(int argc, const char* const* argv, const GetEnv& getenv);

/// \brief The --help text.
const char* Usage();

}  // namespace vigil::sim
