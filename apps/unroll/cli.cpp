#include "cli.h"

#include <cctype>
#include <cmath>
#include <sstream>

#include <filesystem>
#include <iostream>

#include "core/error.h"
#include "core/strings.h"

namespace fs = std::filesystem;

namespace unroll::cli {

bool parse(const std::string& usage, const po::options_description& options, const std::vector<std::string>& args,
           po::variables_map& vm, const po::positional_options_description* positional) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    auto parser = po::command_line_parser(args).options(all);
    const po::positional_options_description none;  // a stray word is an error, not silently dropped
    parser.positional(positional ? *positional : none);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << all << std::endl;
      return false;
    }
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    // Name the word: parse again, collecting what is left over, to find the first positional one.
    const auto parsed = po::command_line_parser(args).options(all).allow_unregistered().run();
    for (const auto& o : parsed.options)
      if (o.position_key >= 0 && !o.value.empty()) fail("unexpected argument '", o.value.front(), "'");
    fail("unexpected argument");
  } catch (const po::error& e) {
    fail(e.what());
  }
  return true;
}

std::string sample_dir() {
  for (const fs::path& p : {fs::path(UNROLL_SOURCE_DIR) / "data" / "sample", fs::current_path() / "data" / "sample"}) {
    if (fs::exists(p / "astronaut.png")) return p.string();
  }
  fail("bundled sample not found (expected data/sample/astronaut.png in the source tree or the current directory)");
}

void check_not_input(const std::string& output, const std::string& input, const char* flag) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool same = fs::absolute(input, ec).lexically_normal() == fs::absolute(output, ec).lexically_normal() ||
                    (fs::exists(output, ec) && fs::equivalent(input, output, ec));
  UNROLL_CHECK(!same, flag, " ", output, " is the input ", input,
               "; choose another file (the input would be overwritten)");
}

double parse_finite(const std::string& text, const std::string& what) {
  const auto v = parse_finite_number(text);
  UNROLL_CHECK(v.has_value(), what, ": not a number: '", text, "'");
  return *v;
}

double parse_bytes(const std::string& text, const char* flag) {
  size_t used = 0;
  double v = -1;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  double unit = 1;
  if (used > 0 && used + 1 == text.size()) {
    switch (std::toupper(static_cast<unsigned char>(text[used]))) {
      case 'K': unit = 1024.0; break;
      case 'M': unit = 1024.0 * 1024; break;
      case 'G': unit = 1024.0 * 1024 * 1024; break;
      case 'T': unit = 1024.0 * 1024 * 1024 * 1024; break;
      default: used = 0;
    }
    if (used > 0) ++used;
  }
  UNROLL_CHECK(used > 0 && used == text.size() && std::isfinite(v) && v >= 0, flag,
               " expects a size such as 4G, 512M or a number of bytes, got '", text, "'");
  return v * unit;
}

void add_tile_options(po::options_description& options, int64_t& tile, int64_t& overlap, std::string& memory) {
  options.add_options()
      ("tile", po::value(&tile)->default_value(0),
       "tile cell size in pixels: 0 = tile only when the method's memory estimate exceeds --max-memory; -1 = never")
      ("tile-overlap", po::value(&overlap)->default_value(-1),
       "pixels each tile extends past its cell (-1 = automatic: 4 kernel sizes + 48)")
      ("max-memory", po::value(&memory)->default_value("0"), "memory budget, e.g. 4G (0 = half the RAM)");
}

TileOptions tile_options(int64_t tile, int64_t overlap, const std::string& memory) {
  TileOptions o;
  o.tile = tile;
  o.overlap = overlap;
  o.max_memory = parse_bytes(memory, "--max-memory");
  o.validate();
  return o;
}

double check_noise255(double noise255, const char* flag) {
  UNROLL_CHECK(std::isfinite(noise255) && noise255 >= 0.0 && noise255 <= 255.0, flag,
               " must be a noise sigma in [0, 255] (0-255 scale), got ", noise255);
  return noise255;
}

std::vector<std::string> split_list(const std::string& text, char sep) {
  std::vector<std::string> out;
  std::stringstream ss(text);
  for (std::string item; std::getline(ss, item, sep);) {
    const auto b = item.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) continue;
    out.push_back(item.substr(b, item.find_last_not_of(" \t\r\n") - b + 1));
  }
  return out;
}

std::string command_line(const std::string& program, const std::vector<std::string>& args) {
  std::string s = program;
  for (const auto& a : args) s += " " + (a.find_first_of(" \t'\"") == std::string::npos ? a : "'" + a + "'");
  return s;
}

int cmd_bench(const std::vector<std::string>& args) {
  if (args.empty() || args[0] == "--help" || args[0] == "-h") {
    std::cout << "usage: unroll bench classic|loader|model [options]   (unroll bench classic --help)\n";
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "loader") return cmd_bench_loader(std::vector<std::string>(args.begin() + 1, args.end()));
  if (args[0] == "model") return cmd_bench_model(std::vector<std::string>(args.begin() + 1, args.end()));
  UNROLL_CHECK(args[0] == "classic", "unknown benchmark '", args[0], "' (available: classic, loader, model)");
  std::vector<std::string> words = {"unroll bench classic"};
  words.insert(words.end(), args.begin() + 1, args.end());
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  return run_classic_bench(static_cast<int>(argv.size()), argv.data());
}

}  // namespace unroll::cli
