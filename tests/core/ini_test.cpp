// The INI reader (core/ini.h): entries keep their section, file and line; comments, blank lines, CRLF
// and a byte-order mark are what Boost.Program_options made of them; bad syntax and oversized input
// are errors naming FILE:LINE; typed values convert as Boost did and print back exactly.
#include "core/ini.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <sstream>

#include "core/error.h"
#include "test_util.h"

namespace unroll {
namespace {

using test::error_of;

std::vector<IniEntry> parse(const std::string& text, const IniLimits& limits = {}) {
  std::istringstream in(text);
  return parse_ini(in, "t.ini", limits);
}

TEST(Ini, EntriesKeepSectionValueAndLine) {
  const auto e = parse(
      "# a config\n"
      "top = 1\n"
      "\n"
      "[model]   # the network\n"
      "  nc = 8,16 , 32  \n"
      "empty =\n"
      "[ data ]\n"
      "test = synthetic:/x,noise=2   # first\n"
      "test = dpir:/a:/b\n"
      "params = admm.iters=10,admm.rho=0.5\n"
      "[variant.K1]\n"
      "model.iterations = 1\n");
  ASSERT_EQ(e.size(), 7u);
  const std::vector<std::tuple<std::string, std::string, int>> expected = {
      {"top", "1", 2},
      {"model.nc", "8,16 , 32", 5},
      {"model.empty", "", 6},
      {"data.test", "synthetic:/x,noise=2", 8},
      {"data.test", "dpir:/a:/b", 9},  // repeated keys are all kept, in order
      {"data.params", "admm.iters=10,admm.rho=0.5", 10},
      {"variant.K1.model.iterations", "1", 12}};
  for (size_t i = 0; i < e.size(); ++i) {
    EXPECT_EQ(e[i].key, std::get<0>(expected[i])) << i;
    EXPECT_EQ(e[i].value, std::get<1>(expected[i])) << i;
    EXPECT_EQ(e[i].line, std::get<2>(expected[i])) << i;
    EXPECT_EQ(e[i].file, "t.ini");
  }
  EXPECT_EQ(e[1].where(), "t.ini:5: model.nc");
  IniEntry made{"experiment.task", "unrolled", "x.ini", 0};
  EXPECT_EQ(made.where(), "x.ini: experiment.task");
}

TEST(Ini, CrlfByteOrderMarkAndNoFinalNewline) {
  const auto e = parse("\xEF\xBB\xBF[a]\r\nk = v\r\n\r\nlast = 2");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].key, "a.k");
  EXPECT_EQ(e[0].value, "v");
  EXPECT_EQ(e[1].key, "a.last");
  EXPECT_EQ(e[1].line, 4);
  EXPECT_TRUE(parse("").empty());
  EXPECT_TRUE(parse("# only comments\n\n   \n").empty());
  // ';' opens a comment line too (Python's configparser writes and reads them); inside a value it stays.
  const auto semi = parse("; a comment\n  ;another\n[a]\nk = 1;2\n");
  ASSERT_EQ(semi.size(), 1u);
  EXPECT_EQ(semi[0].value, "1;2");
}

TEST(Ini, BadSyntaxNamesFileAndLine) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"[a]\nk = 1\njust words\n", "t.ini:3: expected key = value or [section], got 'just words'"},
      {"[a\nk = 1\n", "t.ini:1: expected [section], got '[a'"},
      {"k = 1\n[ ]\n", "t.ini:2: empty section name"},
      {"[a]\n = 3\n", "t.ini:2: expected key = value, the key is missing"},
      {std::string("[a]\nk = x\0y\n", 12), "t.ini:2: NUL byte"},
  };
  for (const auto& [text, needle] : cases) {
    const std::string msg = error_of([&] { parse(text); });
    EXPECT_NE(msg.find(needle), std::string::npos) << "expected '" << needle << "' in '" << msg << "'";
  }
}

TEST(Ini, LimitsBoundUntrustedInput) {
  IniLimits small;
  small.max_bytes = 100;
  small.max_line_length = 20;
  small.max_entries = 3;
  EXPECT_NE(error_of([&] { parse(std::string(101, '#'), small); }).find("t.ini: larger than 100 bytes"),
            std::string::npos);
  EXPECT_EQ(parse(std::string(20, '#') + "\n", small).size(), 0u);  // at the limits is fine
  EXPECT_NE(error_of([&] { parse("a = 1\n" + std::string(21, '#') + "\n", small); }).find("t.ini:2: line longer than 20"),
            std::string::npos);
  EXPECT_NE(error_of([&] { parse("a = 1\nb = 2\nc = 3\nd = 4\n", small); }).find("t.ini:4: more than 3 entries"),
            std::string::npos);
  // The default limits take a generous config and refuse a huge input without reading all of it.
  std::string big;
  for (int i = 0; i < 500; ++i) big += "[variant.v" + std::to_string(i) + "]\nmodel.iterations = 4\n";
  EXPECT_EQ(parse(big).size(), 500u);
  std::istringstream huge(std::string((1 << 20) + 1, '#'));
  EXPECT_THROW(parse_ini(huge, "huge.ini"), Error);
}

TEST(Ini, MissingFileIsNamed) {
  const std::string dir = test::temp_dir("ini_missing");
  EXPECT_NE(error_of([&] { read_ini_file(dir + "/none.ini"); }).find(dir + "/none.ini: cannot open"), std::string::npos);
  EXPECT_NE(error_of([&] { read_ini_file(dir); }).find("cannot open"), std::string::npos);  // a folder
}

TEST(Ini, TypedValuesConvertAsBoostDidAndNameTheEntry) {
  auto entry = [](const std::string& value) { return IniEntry{"train.x", value, "c.ini", 7}; };
  int64_t i = 0;
  parse_ini_value(entry("-12"), i);
  EXPECT_EQ(i, -12);
  parse_ini_value(entry("+5"), i);
  EXPECT_EQ(i, 5);
  for (const char* bad : {"", "1.5", "1e3", "x", "12x", "99999999999999999999"})
    EXPECT_NE(error_of([&] { parse_ini_value(entry(bad), i); }).find("c.ini:7: train.x: expected an integer, got '" +
                                                                      std::string(bad) + "'"),
              std::string::npos)
        << bad;
  uint64_t u = 0;
  parse_ini_value(entry("18446744073709551615"), u);
  EXPECT_EQ(u, std::numeric_limits<uint64_t>::max());
  EXPECT_THROW(parse_ini_value(entry("-1"), u), Error);  // no wrap-around
  double d = 0;
  parse_ini_value(entry("1e-4"), d);
  EXPECT_EQ(d, 1e-4);
  parse_ini_value(entry("-2.5"), d);
  EXPECT_EQ(d, -2.5);
  for (const char* bad : {"", "nan", "inf", "1e999", "0.5.", "two"})
    EXPECT_NE(error_of([&] { parse_ini_value(entry(bad), d); }).find("expected a finite number"), std::string::npos)
        << bad;
  bool b = false;
  for (const char* yes : {"1", "true", "TRUE", "yes", "On", ""}) {
    b = false;
    parse_ini_value(entry(yes), b);
    EXPECT_TRUE(b) << yes;
  }
  for (const char* no : {"0", "false", "No", "off"}) {
    b = true;
    parse_ini_value(entry(no), b);
    EXPECT_FALSE(b) << no;
  }
  EXPECT_NE(error_of([&] { parse_ini_value(entry("maybe"), b); }).find("c.ini:7: train.x: expected a boolean"),
            std::string::npos);
  std::string s;
  parse_ini_value(entry("a b = c"), s);
  EXPECT_EQ(s, "a b = c");
}

TEST(Ini, ValuesPrintBackExactly) {
  EXPECT_EQ(ini_value_text(2e-4), "0.0002");
  EXPECT_EQ(ini_value_text(12.75), "12.75");
  EXPECT_EQ(ini_value_text(50.0), "50");
  EXPECT_EQ(ini_value_text(1e-6), "1e-06");
  EXPECT_EQ(ini_value_text(true), "1");
  EXPECT_EQ(ini_value_text(int64_t{-3}), "-3");
  EXPECT_EQ(ini_value_text(uint64_t{12345678901234ull}), "12345678901234");
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> unit(-1, 1);
  for (int k = 0; k < 1000; ++k) {
    const double v = unit(rng) * std::pow(10.0, static_cast<int>(rng() % 40) - 20);
    double back = 0;
    parse_ini_value(IniEntry{"k", ini_value_text(v), "r", 1}, back);
    EXPECT_EQ(back, v) << ini_value_text(v);
  }
}

TEST(Ini, FormatGroupsSectionsAndReadsBack) {
  const std::string text = format_ini({{"top", "1"},
                                       {"experiment.task", "unrolled"},
                                       {"train.steps", "3"},
                                       {"experiment.name", "x"},
                                       {"model.init_prior", ""}});
  EXPECT_EQ(text, "top = 1\n\n[experiment]\ntask = unrolled\nname = x\n\n[train]\nsteps = 3\n\n[model]\ninit_prior =\n");
  const auto back = parse(text);
  ASSERT_EQ(back.size(), 5u);
  EXPECT_EQ(back[0].key, "top");
  EXPECT_EQ(back[2].key, "experiment.name");
  EXPECT_EQ(back[4].key, "model.init_prior");
  EXPECT_EQ(back[4].value, "");
  EXPECT_NE(error_of([] { format_ini({{"data.train", "a#b"}}); }).find("data.train = 'a#b' cannot be written"),
            std::string::npos);
  EXPECT_THROW(format_ini({{"data.train", "a\nb"}}), Error);
  EXPECT_THROW(format_ini({{"data.train", " a"}}), Error);
}

}  // namespace
}  // namespace unroll
