#include "flags.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "vigil/testing/gtest_util.h"

namespace vigil::sim {
namespace {

Result<ProduceConfig> Parse(std::vector<const char*> args,
                            std::map<std::string, std::string> env = {}) {
  args.insert(args.begin(), "vigil-produce");
  return ParseFlags(static_cast<int>(args.size()), args.data(), [env](const char* name) {
    auto it = env.find(name);
    return it == env.end() ? static_cast<const char*>(nullptr) : it->second.c_str();
  });
}

TEST(FlagsTest, KafkaDefaultsComeFromTheEnvironmentAndFlagsOverride) {
  std::map<std::string, std::string> env{{"KAFKA_BOOTSTRAP", "b:9092"}, {"KAFKA_TOPIC", "t"}};
  ASSERT_OK_AND_ASSIGN(ProduceConfig c, Parse({}, env));
  EXPECT_EQ(c.kafka.bootstrap, "b:9092");
  EXPECT_EQ(c.kafka.topic, "t");
  EXPECT_EQ(c.fleet.max_messages, 10000);
  ASSERT_OK_AND_ASSIGN(ProduceConfig d, Parse({"--topic", "mine", "--bootstrap=x:1"}, env));
  EXPECT_EQ(d.kafka.bootstrap, "x:1");
  EXPECT_EQ(d.kafka.topic, "mine");
}

TEST(FlagsTest, ParsesEveryKindOfValue) {
  ASSERT_OK_AND_ASSIGN(
      ProduceConfig c,
      Parse({"--dry-run", "--devices", "7", "--metrics=2", "--rate", "500", "--duration", "1m",
             "--seed", "9", "--late-rate", "0.1", "--max-lateness", "45s", "--interval", "250",
             "--anomaly-mix", "spike=2,dropout=0", "--compression", "zstd", "--kafka-config",
             "security.protocol=SASL_SSL", "--kafka-config", "sasl.mechanism=AWS_MSK_IAM",
             "--start", "2026-11-23T10:00:00Z", "--quiet"}));
  EXPECT_TRUE(c.dry_run);
  EXPECT_EQ(c.output, "-");
  EXPECT_EQ(c.fleet.devices, 7);
  EXPECT_EQ(c.fleet.metrics, 2);
  EXPECT_EQ(c.run.rate, 500);
  EXPECT_EQ(c.run.duration_ms, 60000);
  EXPECT_EQ(c.fleet.max_messages, 0) << "--duration without --events has no message limit";
  EXPECT_EQ(c.fleet.seed, 9u);
  EXPECT_EQ(c.fleet.max_lateness_ms, 45000);
  EXPECT_EQ(c.fleet.interval_ms, 250);
  EXPECT_EQ(c.fleet.anomaly.mix[0], 2.0);
  EXPECT_EQ(c.fleet.anomaly.mix[1], 0.0);
  EXPECT_EQ(c.fleet.start_ms, 1795428000000);
  EXPECT_EQ(c.kafka.compression, "zstd");
  ASSERT_EQ(c.kafka.extra.size(), 2u);
  EXPECT_EQ(c.kafka.extra[1].second, "AWS_MSK_IAM");
  EXPECT_EQ(c.run.progress_s, 0);
}

TEST(FlagsTest, BadFlagsSayWhatAndWhere) {
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "unknown flag --frobnicate", Parse({"--dry-run", "--frobnicate", "1"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "'abc' for --devices", Parse({"--dry-run", "--devices", "abc"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--metrics", Parse({"--dry-run", "--metrics", "9"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "needs a value", Parse({"--dry-run", "--rate"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--compression", Parse({"--dry-run", "--compression", "brotli"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "key=value", Parse({"--dry-run", "--kafka-config", "oops"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "unknown anomaly kind 'meteor'",
                             Parse({"--dry-run", "--anomaly-mix", "meteor=1"}));
  ASSERT_RAISES_WITH_MESSAGE(NotFound, "toaster", Parse({"--dry-run", "--device-classes", "toaster"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "KAFKA_BOOTSTRAP", Parse({"--topic", "t"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "KAFKA_TOPIC", Parse({"--bootstrap", "b:1"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--speedup", Parse({"--dry-run", "--speedup", "10"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "unexpected argument", Parse({"--dry-run", "stray"}));
}

}  // namespace
}  // namespace vigil::sim
