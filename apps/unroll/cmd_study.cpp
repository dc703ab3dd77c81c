// unroll study rotational --config experiments/rotational_study.ini [--size quick|full] [--out DIR]:
// the rotational-blur study (src/eval/rotational_study.h) from an INI config. Keys live in [study];
// a [quick] section overrides any of them for --size quick. Unknown keys are errors.
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli.h"
#include "core/error.h"
#include "eval/protocol.h"
#include "eval/rotational_study.h"

namespace unroll::cli {
namespace {


/// "1000", "1/8000", "0.004" -> a finite number; anything else names the key.
double parse_number(const std::string& text, const std::string& key) {
  try {
    size_t used = 0;
    const auto slash = text.find('/');
    double v = 0;
    if (slash == std::string::npos) {
      v = std::stod(text, &used);
      if (used != text.size()) throw std::invalid_argument(text);
    } else {
      size_t u1 = 0, u2 = 0;
      const std::string a = text.substr(0, slash), b = text.substr(slash + 1);
      v = std::stod(a, &u1) / std::stod(b, &u2);
      if (u1 != a.size() || u2 != b.size()) throw std::invalid_argument(text);
    }
    UNROLL_CHECK(std::isfinite(v), key, ": not a finite number: '", text, "'");
    return v;
  } catch (const std::logic_error&) {
    fail(key, ": not a number: '", text, "'");
  }
}

std::vector<double> parse_numbers(const std::string& text, const std::string& key) {
  std::vector<double> out;
  for (const auto& item : split_list(text)) out.push_back(parse_number(item, key));
  UNROLL_CHECK(!out.empty(), key, ": empty list");
  return out;
}

}  // namespace

int cmd_study(const std::vector<std::string>& args) {
  std::string kind, config_path, size = "full", out_override, methods_override, convir_override;
  po::options_description cli_opts("study options");
  cli_opts.add_options()
      ("kind", po::value(&kind)->required(), "rotational")
      ("config,c", po::value(&config_path)->required(), "study config (INI), e.g. experiments/rotational_study.ini")
      ("size", po::value(&size)->default_value("full"), "full | quick (applies the config's [quick] overrides)")
      ("out", po::value(&out_override), "override study.out")
      ("methods", po::value(&methods_override), "override study.methods (comma-separated, e.g. convir to add one column)")
      ("convir-weights", po::value(&convir_override), "override study.convir_weights");
  po::positional_options_description positional;
  positional.add("kind", 1);
  po::variables_map cvm;
  if (!parse("usage: unroll study rotational --config experiments/rotational_study.ini [--size quick] [--methods M,...] "
             "[--out DIR]",
             cli_opts, args, cvm, &positional))
    return 0;
  UNROLL_CHECK(kind == "rotational", "study: unknown kind '", kind, "' (known: rotational)");
  UNROLL_CHECK(size == "full" || size == "quick", "--size must be full or quick, got '", size, "'");

  const std::vector<std::string> keys = {"images", "limit", "rpm", "exposure", "noise", "methods",
                                         "unrolled_weights", "convir_weights", "seed", "grids", "out"};
  po::options_description file("config");
  file.add_options()("study.name", po::value<std::string>(), "free text")("study.description", po::value<std::string>(), "");
  for (const auto& k : keys) {
    file.add_options()(("study." + k).c_str(), po::value<std::string>(), "");
    file.add_options()(("quick." + k).c_str(), po::value<std::string>(), "");
  }
  po::variables_map vm;
  {
    std::ifstream in(config_path);
    UNROLL_CHECK(in.good(), config_path, ": cannot open config");
    try {
      po::store(po::parse_config_file(in, file, false), vm);
    } catch (const po::error& e) {
      fail(config_path, ": ", e.what());
    }
  }
  auto value = [&](const std::string& key, const std::string& fallback) {
    if (size == "quick" && vm.count("quick." + key)) return vm["quick." + key].as<std::string>();
    return vm.count("study." + key) ? vm["study." + key].as<std::string>() : fallback;
  };
  const std::string where = config_path + ": study.";

  RotationalStudyOptions o;
  const std::string images = value("images", "");
  UNROLL_CHECK(!images.empty(), where, "images is required");
  o.image_files = list_images(images);
  const int64_t limit = static_cast<int64_t>(parse_number(value("limit", "0"), where + "limit"));
  UNROLL_CHECK(limit >= 0, where, "limit must be >= 0, got ", limit);
  if (limit > 0 && static_cast<int64_t>(o.image_files.size()) > limit) o.image_files.resize(limit);
  if (vm.count("study.rpm") || vm.count("quick.rpm")) o.rpms = parse_numbers(value("rpm", ""), where + "rpm");
  if (vm.count("study.exposure") || vm.count("quick.exposure"))
    o.exposures = parse_numbers(value("exposure", ""), where + "exposure");
  o.noise = parse_number(value("noise", "1"), where + "noise") / 255.0;
  if (vm.count("study.methods") || vm.count("quick.methods")) o.methods = split_list(value("methods", ""));
  if (!methods_override.empty()) o.methods = split_list(methods_override);
  o.unrolled_weights = value("unrolled_weights", "");
  o.convir_weights = convir_override.empty() ? value("convir_weights", "") : convir_override;
  o.seed = static_cast<uint64_t>(parse_number(value("seed", "0"), where + "seed"));
  o.grids = static_cast<int>(parse_number(value("grids", "1"), where + "grids"));
  o.out_dir = out_override.empty() ? value("out", "") : out_override;
  UNROLL_CHECK(!o.out_dir.empty(), where, "out is required (or --out)");
  o.command = "unroll study rotational --config " + config_path + (size == "quick" ? " --size quick" : "") +
              (methods_override.empty() ? "" : " --methods " + methods_override) +
              (convir_override.empty() ? "" : " --convir-weights " + convir_override) +
              (out_override.empty() ? "" : " --out " + out_override);
  const auto rows = run_rotational_study(o);
  int failed = 0;
  for (const auto& r : rows) failed += !r.error.empty();
  std::cout << rows.size() << " results (" << failed << " failed) -> " << o.out_dir << "/summary.md\n";
  return 0;
}

}  // namespace unroll::cli
