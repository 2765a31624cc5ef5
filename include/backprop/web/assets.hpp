// The web pages' files (web/*.html, *.js, *.css) and Debian's Chart.js, compiled into the
// program by the build (web/embed.cmake writes the table), so `backprop serve` and
// `backprop report` need no files at run time and work offline.
#pragma once

#include <string>
#include <string_view>

namespace backprop::web {

struct Asset {
  std::string_view path;  // URL path: "/index.html", "/vendor/chart.min.js"
  std::string_view bytes;
};

// The asset served at path, or nullptr.
const Asset* find_asset(std::string_view path);

// The asset's bytes; throws Error when the build did not embed it (a build bug).
std::string_view asset_bytes(std::string_view path);

// "text/html; charset=utf-8" etc. from the path's extension.
std::string content_type_for(std::string_view path);

}  // namespace backprop::web
