// Internal: the parameter layout of a ModelConfig as a list of ParamSet::add calls, shared by
// ParamSet(const ModelConfig&) and ModelConfig::n_params() (which only needs the sizes, so
// it builds the list without allocating the buffers).
#pragma once
#include "model/config.h"
#include "model/params.h"

namespace r1 {

// Appends every tensor of cfg (in layout order) to ps. Does not allocate.
void add_model_params(ParamSet& ps, const ModelConfig& cfg);

}  // namespace r1
