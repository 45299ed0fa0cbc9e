#include "backtest/flags.h"

#include <gtest/gtest.h>

#include "vigil/testing/gtest_util.h"

namespace vigil::tabular {
namespace {

Status ParseArgs(FlagParser* p, std::vector<std::string> args) {
  std::vector<char*> argv;
  static std::string prog = "prog";
  argv.push_back(prog.data());
  for (auto& a : args) argv.push_back(a.data());
  return p->Parse(static_cast<int>(argv.size()), argv.data());
}

FlagParser Make() {
  FlagParser p("prog", "test");
  p.Value("input", "FILE", "in", /*required=*/true);
  p.Value("scores", "FILE", "scores", false, /*repeated=*/true);
  p.Value("n", "N", "a number");
  p.Bool("quiet", "quiet");
  return p;
}

TEST(Flags, ParsesBothSpellingsAndRepeats) {
  FlagParser p = Make();
  ASSERT_OK(ParseArgs(&p, {"--input", "a.csv", "--scores=x", "--scores", "y", "--quiet", "--n", "3"}));
  EXPECT_EQ(p.Get("input"), "a.csv");
  EXPECT_EQ(p.All("scores"), (std::vector<std::string>{"x", "y"}));
  EXPECT_TRUE(p.GetBool("quiet"));
  ASSERT_OK_AND_ASSIGN(double n, p.GetNumber("n", 0));
  EXPECT_EQ(n, 3);
  EXPECT_NE(p.Usage().find("--input FILE"), std::string::npos);
}

TEST(Flags, ErrorsNameTheFlag) {
  FlagParser p1 = Make();
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "unknown flag --inptu", ParseArgs(&p1, {"--inptu", "a"}));
  FlagParser p2 = Make();
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--input needs a value", ParseArgs(&p2, {"--input"}));
  FlagParser p3 = Make();
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "missing required flag --input", ParseArgs(&p3, {"--quiet"}));
  FlagParser p4 = Make();
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--input given twice", ParseArgs(&p4, {"--input", "a", "--input", "b"}));
  FlagParser p5 = Make();
  ASSERT_OK(ParseArgs(&p5, {"--input", "a", "--n", "x1"}));
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "--n expects a number", p5.GetNumber("n", 0));
  FlagParser p6 = Make();
  ASSERT_RAISES_WITH_MESSAGE(Invalid, "unexpected argument 'stray'", ParseArgs(&p6, {"stray"}));
}

TEST(Flags, SplitListTrimsAndDropsEmpties) {
  EXPECT_EQ(SplitList(" a, b ,,c "), (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_TRUE(SplitList("").empty());
}

}  // namespace
}  // namespace vigil::tabular
