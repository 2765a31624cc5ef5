// The limits every network obeys, shared by what writes networks (NetworkSpec::validate, so
// train and import) and what reads them (model files, .npz parameters): a file one command
// writes, another can read.
#pragma once

namespace backprop {

constexpr int kMaxLayers = 1024;     // layer sizes in a spec: input, hidden ..., output
constexpr int kMaxWidth = 1 << 24;   // units in one layer

}  // namespace backprop
