#include "core/kernel.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sstream>

#include "core/atomic_file.h"
#include "core/error.h"
#include "core/text_input.h"
#include "core/tensor.h"

namespace unroll {

torch::Tensor normalize_kernel(const torch::Tensor& k_in, const std::string& source) {
  UNROLL_CHECK(k_in.defined() && k_in.numel() > 0, source, ": kernel is empty");
  UNROLL_CHECK(k_in.is_floating_point(), source, ": kernel must be floating point");
  auto k = k_in.clone();
  UNROLL_CHECK(torch::isfinite(k).all().item<bool>(), source, ": kernel contains NaN or Inf");
  const double kmax = k.max().item<double>();
  const double kmin = k.min().item<double>();
  UNROLL_CHECK(kmax > 0.0, source, ": kernel has no positive value (sum is zero or negative)");
  if (kmin < 0.0) {
    UNROLL_CHECK(kmin >= -1e-3 * kmax, source, ": kernel has negative values (min ", kmin, ")");
    warn(source + ": clipped tiny negative kernel values (min " + std::to_string(kmin) + ") to 0");
    k = k.clamp_min(0.0);
  }
  if (k.dim() == 4) {
    auto sums = k.sum({1, 2, 3}, true);
    UNROLL_CHECK((sums > 0).all().item<bool>(), source, ": a kernel of the batch sums to zero");
    return k / sums;
  }
  return k / k.sum();
}

torch::Tensor parse_kernel_text(const std::string& text, const std::string& source) {
  std::vector<std::vector<double>> rows;
  // A UTF-8 byte-order mark (spreadsheets write one) is not part of the first number.
  std::istringstream in(text.compare(0, 3, "\xEF\xBB\xBF") == 0 ? text.substr(3) : text);
  std::string line;
  int line_no = 0;
  for (; std::getline(in, line); ) {
    ++line_no;
    auto hash = line.find('#');
    if (hash != std::string::npos) line.resize(hash);
    for (char& c : line) {
      if (c == ',' || c == ';' || c == '\t' || c == '\r') c = ' ';
    }
    std::istringstream ls(line);
    std::vector<double> row;
    std::string token;
    while (ls >> token) {
      char* end = nullptr;
      double v = std::strtod(token.c_str(), &end);
      UNROLL_CHECK(end && *end == '\0', source, ":", line_no, ": not a number: '", printable(token), "'");
      row.push_back(v);
    }
    if (row.empty()) continue;
    UNROLL_CHECK(rows.empty() || row.size() == rows.front().size(), source, ":", line_no, ": row has ", row.size(),
                 " values, previous rows have ", rows.front().size());
    rows.push_back(std::move(row));
  }
  UNROLL_CHECK(!rows.empty(), source, ": no kernel values found");
  const int64_t h = static_cast<int64_t>(rows.size()), w = static_cast<int64_t>(rows.front().size());
  auto k = torch::empty({h, w}, torch::kFloat64);
  auto acc = k.accessor<double, 2>();
  for (int64_t i = 0; i < h; ++i)
    for (int64_t j = 0; j < w; ++j) acc[i][j] = rows[i][j];
  return normalize_kernel(k, source);
}

torch::Tensor read_kernel_text(const std::string& path) {
  // 64 MB: a 2000 x 2000 kernel at 17 digits per value; real kernels are a few KB.
  return parse_kernel_text(read_text_file(path, int64_t{64} << 20, "a kernel file"), path);
}

void write_kernel_text(const std::string& path, const torch::Tensor& k_in) {
  auto k = k_in.squeeze().to(torch::kFloat64).contiguous().cpu();
  UNROLL_CHECK(k.dim() == 2, "write_kernel_text: expected a 2-D kernel, got shape ", k_in.sizes());
  std::ostringstream os;
  auto acc = k.accessor<double, 2>();
  char buf[64];
  for (int64_t i = 0; i < k.size(0); ++i) {
    for (int64_t j = 0; j < k.size(1); ++j) {
      std::snprintf(buf, sizeof buf, "%.17g", acc[i][j]);
      os << (j ? "," : "") << buf;
    }
    os << "\n";
  }
  write_text_atomically(path, os.str());
}

}  // namespace unroll
