// Function-preserving widening of a trained network (in the spirit of Net2Net, Chen, Goodfellow and
// Shlens, ICLR 2016, with zero weights instead of split ones): a wider copy that computes exactly what
// the narrow network computes and that training can then grow into.
#pragma once

#include <torch/torch.h>

#include <string>

namespace unroll {

/// Copies the weights of `narrow` into `wide`, a network of the same topology (same module and
/// parameter names) whose layers have at least as many channels. Every weight's leading block gets the
/// narrow weights; the weights from the extra input channels into the original output channels are set
/// to zero; the extra output channels keep `wide`'s own initialisation. The original channels of `wide`
/// then carry exactly the narrow network's activations through convolutions, additive skips and
/// element-wise activations (not through concatenations, which interleave channels), the extra ones
/// never reach them, and the zero weights still get gradients, so fine-tuning can use the new width.
/// Knows torch::nn::Conv2d and Linear ([out, in, ...]) and ConvTranspose2d / UpConv2x2 ([in, out, ...]);
/// any other module's parameters and all buffers must have equal shapes. Throws unroll::Error naming
/// `what` and the first entry that does not fit.
void embed_narrower(torch::nn::Module& wide, const torch::nn::Module& narrow, const std::string& what);

}  // namespace unroll
