#include "cli.h"

#include <sstream>

#include <filesystem>
#include <iostream>

#include "core/error.h"

namespace fs = std::filesystem;

namespace unroll::cli {

bool parse(const std::string& usage, const po::options_description& options, const std::vector<std::string>& args,
           po::variables_map& vm, const po::positional_options_description* positional) {
  po::options_description all(options);
  all.add_options()("help,h", "show this help");
  try {
    auto parser = po::command_line_parser(args).options(all);
    if (positional) parser.positional(*positional);
    po::store(parser.run(), vm);
    if (vm.count("help")) {
      std::cout << usage << "\n" << all << std::endl;
      return false;
    }
    po::notify(vm);
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
