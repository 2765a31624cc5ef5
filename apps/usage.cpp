// Turning CLI11's parse failures into the project's one-line errors, with a suggestion for a
// typo (usage.hpp).
#include "usage.hpp"

#include <algorithm>
#include <cctype>

namespace backprop::cli {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<std::size_t> row(b.size() + 1);  // row[j]: distance of a[0, i) to b[0, j)
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substitute});
    }
  }
  return row[b.size()];
}

std::string nearest(const std::string& word, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = std::max<std::size_t>(2, word.size() / 3) + 1;  // a typo, not a guess
  for (const auto& candidate : candidates) {
    const std::size_t d = edit_distance(word, candidate);
    if (d < best_distance) best_distance = d, best = candidate;
  }
  return best;
}

namespace {

std::string one_line(std::string text) {
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

bool is_flag(const std::string& arg) {
  if (arg.size() < 2 || arg[0] != '-') return false;
  return !(std::isdigit(static_cast<unsigned char>(arg[1])) || arg[1] == '.');  // -1, -.5 are values
}

std::vector<std::string> flag_names(const CLI::App& sub) {
  std::vector<std::string> names;
  for (const CLI::Option* option : sub.get_options())
    for (const auto& name : option->get_lnames()) names.push_back("--" + name);
  return names;
}

}  // namespace

std::string parse_error_message(const CLI::App& app, const std::vector<std::string>& args, const CLI::ParseError& e) {
  std::vector<std::string> commands;
  for (const CLI::App* sub : app.get_subcommands({})) commands.push_back(sub->get_name());
  if (args.size() > 1 && !is_flag(args[1])) {
    const CLI::App* sub = nullptr;
    for (const CLI::App* candidate : app.get_subcommands({}))
      if (candidate->get_name() == args[1]) sub = candidate;
    if (!sub) {
      const std::string near = nearest(args[1], commands);
      return "unknown command '" + args[1] + "'" + (near.empty() ? "" : " (did you mean '" + near + "'?)") +
             "; see backprop --help";
    }
    const std::vector<std::string> flags = flag_names(*sub);
    for (std::size_t i = 2; i < args.size(); ++i) {
      if (!is_flag(args[i]) || args[i] == "--") continue;
      const std::string name = args[i].substr(0, args[i].find('='));
      if (std::find(flags.begin(), flags.end(), name) != flags.end() || name == "-h") continue;
      const std::string near = nearest(name, flags);
      return sub->get_name() + ": unknown flag " + name + (near.empty() ? "" : " (did you mean " + near + "?)") +
             "; see backprop " + sub->get_name() + " --help";
    }
    // CLI11 says "Could not convert: --lr = abc".
    const std::string what = one_line(e.what()), prefix = "Could not convert: ";
    const auto equals = what.find(" = ");
    if (what.rfind(prefix, 0) == 0 && equals != std::string::npos)
      return sub->get_name() + ": " + what.substr(prefix.size(), equals - prefix.size()) + ": '" +
             what.substr(equals + 3) + "' is not a valid value";
    return sub->get_name() + ": " + what;
  }
  if (args.size() <= 1) return "give a command: " + [&] {
    std::string list;
    for (const auto& c : commands) list += (list.empty() ? "" : ", ") + c;
    return list;
  }() + " (backprop --help)";
  return one_line(e.what());
}

}  // namespace backprop::cli
