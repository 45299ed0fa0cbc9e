// The checked-in state blob of format version 1 must keep loading.
//
// testdata/rcf_state_v1.bin: a forest (20 trees, sample 64, shingle 4, 2
// metrics, seed 5) after 3,000 points of a triangle wave with a step. To
// rewrite it (only with a new field or a new state version; never silently):
//   VIGIL_RCF_WRITE_GOLDEN=1 core_rcf_golden_test
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "vigil/detect/rcf/forest_internal.h"
#include "vigil/testing/gtest_util.h"

namespace vigil::internal {
namespace {

const std::string kPath = std::string(VIGIL_SOURCE_DIR) + "/core/src/vigil/detect/rcf/testdata/rcf_state_v1.bin";

RcfOptions GoldenOptions() {
  RcfOptions o;
  o.num_trees = 20;
  o.sample_size = 64;
  o.shingle_size = 4;
  return o;
}

// Exactly representable inputs: no libm, so the stream is the same everywhere.
void Point(int t, double* x) {
  const int phase = t % 40;
  x[0] = (phase < 20 ? phase : 40 - phase) * 0.25 + (t >= 2500 ? 3.0 : 0.0);
  x[1] = static_cast<double>((t * 7919) % 13) * 0.125;
}

std::string Save(const RandomCutForest& f) {
  StateWriter w;
  EXPECT_OK(f.SerializeTo(&w));
  return w.Finish();
}

TEST(RcfGoldenTest, VersionOneBlobLoadsAndContinues) {
  if (std::getenv("VIGIL_RCF_WRITE_GOLDEN") != nullptr) {
    ASSERT_OK_AND_ASSIGN(auto f, RandomCutForest::Make(GoldenOptions(), 2, 5));
    double x[2];
    for (int t = 0; t < 3000; ++t) {
      Point(t, x);
      ASSERT_OK(f->Update(x));
    }
    std::ofstream(kPath, std::ios::binary) << Save(*f);
  }
  std::ifstream in(kPath, std::ios::binary);
  ASSERT_TRUE(in.good()) << "missing " << kPath;
  const std::string blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());

  ASSERT_OK_AND_ASSIGN(auto a, RandomCutForest::Make(GoldenOptions(), 2, 999));
  ASSERT_OK_AND_ASSIGN(auto b, RandomCutForest::Make(GoldenOptions(), 2, 998));
  ASSERT_OK_AND_ASSIGN(StateReader r, StateReader::Open(blob));
  ASSERT_OK(a->DeserializeFrom(&r));
  ASSERT_OK_AND_ASSIGN(StateReader r2, StateReader::Open(blob));
  ASSERT_OK(b->DeserializeFrom(&r2));
  EXPECT_EQ(a->updates(), 2997u);
  EXPECT_EQ(Save(*a), blob) << "the state layout changed: bump the state version and keep reading version 1";

  double x[2];
  std::vector<double> sa, sb;
  for (int t = 3000; t < 3500; ++t) {
    Point(t, x);
    if (t == 3300) x[1] = 9.0;  // far outside anything seen
    sa.push_back(a->Score(x));
    sb.push_back(b->Score(x));
    ASSERT_OK(a->Update(x));
    ASSERT_OK(b->Update(x));
  }
  EXPECT_EQ(sa, sb);
  for (double s : sa) EXPECT_GT(s, 0.0);
  EXPECT_GT(sa[300], 2.0 * sa[299]);
}

}  // namespace
}  // namespace vigil::internal
