#include "rotation_cli.h"

#include <cctype>
#include <cmath>

#include "core/error.h"
#include "datasets/rotational.h"

namespace unroll::cli {

void add_rotation_options(po::options_description& options, RotationArgs& args) {
  options.add_options()
      ("rpm", po::value(&args.rpm), "rotational: revolutions per minute (with --exposure)")
      ("exposure", po::value(&args.exposure), "rotational: exposure time, seconds (with --rpm)")
      ("angle", po::value(&args.angle_deg), "rotational: sweep angle in degrees (instead of --rpm/--exposure)")
      ("centre", po::value(&args.centre), "rotational: rotation centre X,Y in pixels (default: estimated from the image, else the image centre)")
      ("mask", po::value(&args.mask), "rotational: grey image of the rotating part in [0,1] (static background elsewhere)");
}

RotationSpec parse_rotation(const po::variables_map& vm, const RotationArgs& args, const std::string& context,
                            bool angle_required) {
  RotationSpec spec;
  spec.rpm_given = vm.count("rpm") > 0;
  spec.exposure_given = vm.count("exposure") > 0;
  const bool angle_given = vm.count("angle") > 0;
  UNROLL_CHECK(!angle_required || spec.rpm_given || spec.exposure_given || angle_given, context,
               " needs the sweep: --rpm R --exposure T, or --angle DEG");
  UNROLL_CHECK(!(angle_given && (spec.rpm_given || spec.exposure_given)),
               "give either --rpm/--exposure or --angle, not both");
  if (angle_given) {
    UNROLL_CHECK(std::isfinite(args.angle_deg) && args.angle_deg >= 0, "--angle must be >= 0 degrees, got ",
                 args.angle_deg);
    spec.angle = args.angle_deg * M_PI / 180.0;
  } else if (spec.rpm_given || spec.exposure_given) {
    UNROLL_CHECK(spec.rpm_given && spec.exposure_given, context, " needs both --rpm and --exposure (got only ",
                 spec.rpm_given ? "--rpm" : "--exposure", ")");
    UNROLL_CHECK(std::isfinite(args.rpm) && args.rpm >= 0, "--rpm must be >= 0, got ", args.rpm);
    UNROLL_CHECK(std::isfinite(args.exposure) && args.exposure > 0, "--exposure must be > 0 seconds, got ",
                 args.exposure);
    spec.rpm = args.rpm;
    spec.exposure = args.exposure;
    spec.angle = rpm_exposure_to_angle(args.rpm, args.exposure);
  }
  // Beyond a full turn every point is smeared around its whole circle: nothing is left to restore, and a
  // value like --rpm 1e30 is a typo, not a camera.
  UNROLL_CHECK(!spec.angle || *spec.angle <= 2 * M_PI + 1e-9, "the sweep is ", spec.angle.value_or(0) * 180.0 / M_PI,
               " degrees, more than a full turn (360): check --rpm/--exposure or --angle");
  if (!args.centre.empty()) spec.centre = parse_centre(args.centre);
  spec.mask = args.mask;
  return spec;
}

void reject_rotation_options(const po::variables_map& vm, const std::string& context) {
  for (const char* key : {"rpm", "exposure", "angle", "centre", "mask"}) {
    UNROLL_CHECK(!vm.count(key), "--", key, " is for rotational only (--kernels rotational, --blur rotational); got ",
                 context);
  }
}

std::pair<double, double> parse_centre(const std::string& text) {
  const auto comma = text.find(',');
  auto bad = [&]() { fail("--centre expects X,Y (two numbers, pixels; e.g. 64.5,40), got '", text, "'"); };
  if (comma == std::string::npos || text.find(',', comma + 1) != std::string::npos) bad();
  auto number = [&](const std::string& s) {
    size_t used = 0;
    double v = 0;
    try {
      v = std::stod(s, &used);
    } catch (const std::exception&) {
      bad();
    }
    while (used < s.size() && std::isspace(static_cast<unsigned char>(s[used]))) ++used;
    if (used != s.size() || !std::isfinite(v)) bad();
    return v;
  };
  return {number(text.substr(0, comma)), number(text.substr(comma + 1))};
}

}  // namespace unroll::cli
