// Usage errors: the one error style of the command line. Every error is one line,
// "backprop: error: ...". Exit status 2 means the command line was wrong (an unknown command
// or flag, a value out of range, flags that contradict each other), 1 that the work failed
// (a bad or missing file, a write error, training that diverged).
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "backprop/error.hpp"

namespace backprop::cli {

// A mistake on the command line (exit status 2).
class UsageError : public Error {
 public:
  using Error::Error;
};

// Runs check() and rethrows any Error it throws as a UsageError: for library validators
// (schedule, optimizer, network spec) that the command line checks before any work.
template <typename F>
void as_usage_error(F&& check) {
  try {
    check();
  } catch (const UsageError&) {
    throw;
  } catch (const Error& e) {
    throw UsageError(e.what());
  }
}

// Levenshtein distance (insertions, deletions, substitutions).
std::size_t edit_distance(const std::string& a, const std::string& b);
// The candidate nearest to word when it is near enough to be a typo, else "".
std::string nearest(const std::string& word, const std::vector<std::string>& candidates);

// The one-line message for a CLI11 parse failure of args (after preset expansion): an unknown
// command or flag with the nearest known one, else CLI11's own message on one line.
std::string parse_error_message(const CLI::App& app, const std::vector<std::string>& args, const CLI::ParseError& e);

}  // namespace backprop::cli
