// Shared helpers of the unroll subcommands (thin layer: options -> library calls).
#pragma once

#include <torch/torch.h>

#include <boost/program_options.hpp>
#include <string>
#include <vector>

#include "core/tensor.h"
#include "eval/tiling.h"

namespace unroll::cli {

namespace po = boost::program_options;

/// Parses `args` (the words after the subcommand) into `vm`. Prints help and returns false when
/// --help was given. Unknown options and bad values throw with a clear message.
bool parse(const std::string& usage, const po::options_description& options, const std::vector<std::string>& args,
           po::variables_map& vm, const po::positional_options_description* positional = nullptr);

/// The items of a `sep`-separated list, each trimmed of surrounding whitespace; empty items dropped.
std::vector<std::string> split_list(const std::string& text, char sep = ',');

/// Checks a noise level given on the 0-255 scale by `flag`: finite and in [0, 255] (a sigma of 255/255
/// already drowns the image; larger values only made black outputs). Returns it.
double check_noise255(double noise255, const char* flag = "--noise");

/// Refuses an output that names the input (the same path, or another name for the same file): `flag`
/// names the output option in the error. Outputs are written atomically, so the input would be lost.
void check_not_input(const std::string& output, const std::string& input, const char* flag);

/// "4G", "512M", "800K" or plain bytes (binary units: G = 2^30) -> bytes; `flag` names it in errors.
double parse_bytes(const std::string& text, const char* flag);

/// The whole of `text` as a finite number; otherwise an error "WHAT: not a number: 'TEXT'".
double parse_finite(const std::string& text, const std::string& what);

/// Adds --tile, --tile-overlap and --max-memory (bound to `tile`, `overlap`, `memory`) to `options`.
void add_tile_options(po::options_description& options, int64_t& tile, int64_t& overlap, std::string& memory);

/// The TileOptions those flags describe.
TileOptions tile_options(int64_t tile, int64_t overlap, const std::string& memory);

/// `program` followed by `args`, quoting the words that need it: the command line as the user typed it.
std::string command_line(const std::string& program, const std::vector<std::string>& args);

using unroll::parse_device;  // core/tensor.h

/// The folder with the bundled sample (data/sample), searched next to the sources and the cwd.
std::string sample_dir();

int cmd_deblur(const std::vector<std::string>& args);
int cmd_metrics(const std::vector<std::string>& args);
int cmd_demo(const std::vector<std::string>& args);
int cmd_bench(const std::vector<std::string>& args);
int cmd_eval(const std::vector<std::string>& args);
int cmd_bench_loader(const std::vector<std::string>& args);
int cmd_bench_model(const std::vector<std::string>& args);
int cmd_train(const std::vector<std::string>& args);
int cmd_experiment(const std::vector<std::string>& args);
int cmd_synth(const std::vector<std::string>& args);
int cmd_study(const std::vector<std::string>& args);
int cmd_export(const std::vector<std::string>& args);
int cmd_pack(const std::vector<std::string>& args);
int cmd_methods(const std::vector<std::string>& args);
int cmd_estimate_kernel(const std::vector<std::string>& args);

}  // namespace unroll::cli

/// Defined in bench/classic_bench.cpp (also built as the LibTorch-only unroll-bench executable).
int run_classic_bench(int argc, char** argv);
