// Unroll's format marker: what tells a checkpoint Unroll wrote from an official (or foreign) one.
//
// Some architecture choices leave no trace in the weights (a ResUNet's global residual: the official
// DRUNet / USRNet files have none, Unroll's denoisers do). Unroll's modules carry such choices as small
// "architecture flag" buffers, e.g. `global_residual` = 1 or 0. Official files never have them, so a
// missing flag has to mean "the official default" there -- and in a file Unroll wrote, the same gap
// means the file was altered (a stripped `global_residual` would otherwise load as the official
// architecture and turn every output near-black, issue 28). The marker settles which case applies:
// every model file Unroll saves (training, `unroll-train --float16`, the blind network) carries the
// entry `unroll_format` = int64 [version], which `unroll export` keeps, and in a marked file every
// architecture flag is required (load_into_module and the options readers name the missing key).
// Python's torch.load reads the marker as one more entry of the dict.
#pragma once

#include <string>

#include "core/checkpoint.h"

namespace unroll {

/// The marker's state-dict name and the format version it records.
inline constexpr const char* kUnrollFormatKey = "unroll_format";
inline constexpr int64_t kUnrollFormatVersion = 1;

/// The architecture flags (see is_architecture_flag): the leaf name of the global-residual flag buffer
/// of the ResUNet prior (priors/resunet.h), 1 or 0.
inline constexpr const char* kGlobalResidualFlag = "global_residual";

/// True when `state` holds Unroll's marker (its value is not interpreted beyond being an integer
/// tensor; a floating-point or empty one is an error naming the file, `what`).
bool written_by_unroll(const StateDict& state, const std::string& what = "checkpoint");

/// `state` with the marker appended (replacing one already there): what Unroll's model writers save.
StateDict with_unroll_marker(StateDict state);

/// True for the names of architecture-flag buffers (leaf name `global_residual`, at any prefix): a
/// strict load_into_module of an unmarked (official) file keeps the module's own value where the
/// file lacks one; in a marked file a missing flag is an error.
bool is_architecture_flag(const std::string& name);

}  // namespace unroll
