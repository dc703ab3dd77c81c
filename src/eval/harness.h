// The evaluation harness behind `unroll eval` and `unroll experiment`, in three parts:
//   eval/sources.h     the data-string grammar (gopro:, reds:, rsblur:, cifar10:, folder:, synthetic:,
//                      dpir:) and opening a parsed string as a dataset
//   eval/evaluation.h  the loop: every method x every case of every dataset, scored by its protocol
//   eval/outputs.h     results.csv, summary.md, summary.json
// This header includes all three for the callers that use the whole harness.
#pragma once

#include "eval/evaluation.h"
#include "eval/outputs.h"
#include "eval/sources.h"
