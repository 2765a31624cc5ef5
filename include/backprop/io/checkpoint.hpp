// Checkpoints: a model file (kind 2) that also holds everything needed to continue the run
// exactly: the trainer's state (epoch, step, position in the epoch, example order, random
// generator), the optimizer's buffers and step count, early-stopping state, every finished
// epoch's metrics, and the command's own record of its configuration (JSON for `backprop
// train`; the library does not read it). Layout in docs/model-format.md.
//
// Any tool that reads a model also reads a checkpoint (read_model ignores the extra sections).
#pragma once

#include <string>

#include "backprop/io/model_file.hpp"
#include "backprop/train/trainer.hpp"

namespace backprop {

struct Checkpoint {
  ModelFile model;         // architecture (with dropout) and the current parameters
  TrainerState trainer;
  std::string run_config;  // opaque to the library
};

// Atomic, like save_model. The schedule's position is trainer.global_step (the schedule is
// a function of it); its parameters are in run_config.
// data: the training set's schema, as save_model takes it (model.data when read back).
template <typename T>
void save_checkpoint(const std::string& path, const Network<T>& network, const TrainerState& trainer,
                     const std::string& run_config, const DataSchema* data = nullptr);

// Every check of read_model, then the training sections. A plain model file is refused with
// "is a model, not a checkpoint (it has no training state)".
Checkpoint read_checkpoint(const std::string& path);

}  // namespace backprop
