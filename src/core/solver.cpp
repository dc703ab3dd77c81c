#include "core/solver.h"

#include "core/enum_names.h"

namespace unroll {

std::string stop_reason_name(StopReason reason) {
  static const EnumNames<StopReason> names("stop reason", {{StopReason::MaxIterations, "max_iterations"},
                                                           {StopReason::Tolerance, "tolerance"},
                                                           {StopReason::ScheduleEnd, "schedule_end"},
                                                           {StopReason::ClosedForm, "closed_form"},
                                                           {StopReason::Network, "network"}});
  return names.name(reason);
}

std::string SolverResult::stop_text() const {
  return message.empty() ? stop_reason_name(stop_reason) : stop_reason_name(stop_reason) + ": " + message;
}

}  // namespace unroll
