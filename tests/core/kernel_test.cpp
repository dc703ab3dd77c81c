// Kernel text files (core/kernel.h) and the bounded text reader under them (core/text_input.h): what a
// spreadsheet writes is read, and what a careless or hostile file holds is one printable error line.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "core/kernel.h"
#include "core/text_input.h"
#include "test_util.h"

namespace unroll {
namespace {

TEST(KernelText, ByteOrderMarkAndSpreadsheetLineEndingsAreRead) {
  const auto plain = parse_kernel_text("1,3\n0,0\n", "k.csv");
  const auto excel = parse_kernel_text("\xEF\xBB\xBF" "1;3\r\n0;0\r\n", "k.csv");
  ASSERT_EQ(plain.sizes(), excel.sizes());
  EXPECT_TRUE(torch::equal(plain, excel));
  EXPECT_DOUBLE_EQ(plain[0][1].item<double>(), 0.75);
}

TEST(KernelText, BinaryBytesInAnErrorAreEscapedOnOneLine) {
  const std::string garbage("0.5,\x01\n\x7f\xff,0.5\n", 14);
  const std::string msg = test::error_of([&] { parse_kernel_text(garbage, "k.csv"); });
  EXPECT_EQ(msg, "k.csv:1: not a number: '\\x01'");
  const std::string second("0.5,0.5\n\x7f\xff\n", 11);
  EXPECT_EQ(test::error_of([&] { parse_kernel_text(second, "k.csv"); }), "k.csv:2: not a number: '\\x7F\\xFF'");
  EXPECT_EQ(printable(std::string(100, 'a'), 5), "aaaaa...");
}

TEST(KernelText, FilesAreReadUpToALimit) {
  std::istringstream big(std::string(1000, '1'));
  EXPECT_EQ(test::error_of([&] { read_bounded_text(big, 999, "k.csv", "a kernel file"); }),
            "k.csv: larger than 999 bytes, too large for a kernel file");
  std::istringstream fits(std::string(999, '1'));
  EXPECT_EQ(read_bounded_text(fits, 999, "k.csv", "a kernel file").size(), 999u);
  // Devices and folders are not read at all (/dev/zero would never end).
  EXPECT_EQ(test::error_of([] { read_kernel_text("/dev/zero"); }), "/dev/zero: not a regular file");
  const std::string dir = test::temp_dir("kernel_text");
  EXPECT_EQ(test::error_of([&] { read_kernel_text(dir); }), dir + ": not a regular file");
  EXPECT_EQ(test::error_of([&] { read_kernel_text(dir + "/none.csv"); }), dir + "/none.csv: no such file");
  std::ofstream(dir + "/k.csv") << "0,1,0\n";
  EXPECT_EQ(read_kernel_text(dir + "/k.csv").sizes(), (std::vector<int64_t>{1, 3}));
}

}  // namespace
}  // namespace unroll
