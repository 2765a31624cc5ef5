// The subcommands. Each add_* registers its flags on a new subcommand of app and returns
// the function that runs it once parsed.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <vector>

namespace backprop::cli {

struct Command {
  CLI::App* app;
  std::function<int()> run;
};

Command add_train(CLI::App& app);
Command add_fetch(CLI::App& app);
Command add_gradcheck(CLI::App& app);
Command add_grads(CLI::App& app);
Command add_eval(CLI::App& app);
Command add_predict(CLI::App& app);
Command add_export(CLI::App& app);
Command add_import(CLI::App& app);
Command add_serve(CLI::App& app);
Command add_report(CLI::App& app);
Command add_sweep(CLI::App& app);

inline std::vector<Command> all_commands(CLI::App& app) {
  return {add_train(app), add_fetch(app), add_gradcheck(app), add_grads(app),
          add_eval(app), add_predict(app), add_export(app), add_import(app),
          add_serve(app), add_report(app), add_sweep(app)};
}

}  // namespace backprop::cli
