// Shared pieces of the fuzz targets (tests/fuzz/fuzz_*.cpp, docs/reliability.md "Fuzzing").
//
// Each target is one `LLVMFuzzerTestOneInput` around one parser of untrusted input. Errors the parser
// documents (unroll::Error, LibTorch's c10::Error, any std::exception) are the expected answer to a bad
// file and are swallowed; what remains to find is a crash, a sanitizer report, a hang or a huge
// allocation. The same file builds two ways: with clang's libFuzzer (scripts/fuzz.sh) and, in the
// normal build, with replay_main.cpp, a plain main() that feeds it every file of its corpus (CTest).
#pragma once

#include <torch/torch.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

namespace unroll::fuzz {

/// Whether UNROLL_FUZZ_VERBOSE is set: expect_errors_only then prints each error it swallows (to see
/// what a replayed corpus file is answered).
bool verbose();

/// Runs `parse`, swallowing the exceptions a parser of untrusted input is allowed to throw.
template <class F>
void expect_errors_only(F&& parse) {
  try {
    parse();
  } catch (const std::exception& e) {
    if (verbose()) std::fprintf(stderr, "  error: %.300s\n", e.what());
  }
}

/// A folder for this process's scratch files (created once, under $TMPDIR or /tmp). Also silences
/// unroll::warn, which would otherwise print once per input.
const std::string& scratch_dir();

/// Writes `data` to scratch_dir()/`name` (replacing it) and returns the path.
std::string write_scratch(const std::string& name, const uint8_t* data, size_t size);

/// Reads every element `t` addresses, in this (sanitizer-instrumented) file: LibTorch itself is not
/// instrumented, so a view past its storage read by LibTorch's kernels may go unseen, but read here it
/// is an AddressSanitizer report. Tensors of more than 2^22 elements are refused by the callers' limits
/// already; larger ones are sampled at their first and last element.
void touch_elements(const torch::Tensor& t);

}  // namespace unroll::fuzz
