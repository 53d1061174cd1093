// Conversions between call frames and the core's argument structs. No emscripten headers here.
#pragma once

#include <string>

#include "attention.h"
#include "frames.h"
#include "model.h"

namespace qkv::frames {

AttentionArgs to_attention_args(const Word* frame);
MhaArgs to_mha_args(const Word* frame);
ModelRunArgs to_model_args(const Word* frame);
// "name:type,name:type,…" in frame order, for the JS side.
std::string attention_layout();
std::string mha_layout();
std::string model_layout();

}  // namespace qkv::frames
