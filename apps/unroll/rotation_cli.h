// The rotational-blur options shared by `unroll synth --kernels rotational` and
// `unroll deblur --blur rotational`: --rpm/--exposure or --angle, --centre, --mask.
#pragma once

#include <optional>
#include <string>
#include <utility>

#include "cli.h"

namespace unroll::cli {

struct RotationArgs {
  double rpm = -1, exposure = -1, angle_deg = -1;
  std::string centre, mask;
};

/// Adds --rpm, --exposure, --angle, --centre and --mask (bound to `args`) to `options`.
void add_rotation_options(po::options_description& options, RotationArgs& args);

/// The sweep and centre the user gave.
struct RotationSpec {
  std::optional<double> angle;                     ///< radians; empty when neither --angle nor --rpm/--exposure
  std::optional<std::pair<double, double>> centre; ///< pixels; empty = the image centre
  std::string mask;                                ///< mask image path or ""
  bool rpm_given = false, exposure_given = false;
  double rpm = 0, exposure = 0;
};

/// Validates the options for `context` ("--kernels rotational", "--blur rotational"). With
/// `angle_required` a missing sweep is an error, else it is left empty (estimated by the caller).
RotationSpec parse_rotation(const po::variables_map& vm, const RotationArgs& args, const std::string& context,
                            bool angle_required);

/// Errors naming the option when any rotational option was given although `context` is not rotational.
void reject_rotation_options(const po::variables_map& vm, const std::string& context);

/// "X,Y" -> two finite numbers; anything else is an error naming --centre.
std::pair<double, double> parse_centre(const std::string& text);

}  // namespace unroll::cli
