// Named configurations. A preset sets flags' values; any flag given explicitly wins.
#pragma once

#include <string>
#include <vector>

namespace backprop::cli {

struct Preset {
  const char* name;
  const char* description;
  std::vector<std::pair<const char*, const char*>> flags;  // {"--lr", "0.01"}, ...
};

const std::vector<Preset>& presets();
const Preset& find_preset(const std::string& name);  // throws Error listing the names

}  // namespace backprop::cli
