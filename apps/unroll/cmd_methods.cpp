// unroll methods [--markdown]: the method registry (eval/methods.h) as text: every method with what it
// needs and its parameters (type, default, range). --markdown prints the README's method list.
#include <iostream>

#include "cli.h"
#include "eval/methods.h"

namespace unroll::cli {

int cmd_methods(const std::vector<std::string>& args) {
  po::options_description opts("methods options");
  opts.add_options()("markdown", po::bool_switch(), "the list as Markdown (README.md, between its methods markers)");
  po::variables_map vm;
  if (!parse("usage: unroll methods [--markdown]\n\n" + method_help(), opts, args, vm)) return 0;
  std::cout << (vm["markdown"].as<bool>() ? methods_markdown() : method_help());
  return 0;
}

}  // namespace unroll::cli
