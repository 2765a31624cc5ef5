// Checking the one-line errors that bad input must produce.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "backprop/error.hpp"

namespace backprop::testing {

// Runs f, expects a backprop::Error, returns its message ("(no error)" when none was thrown).
template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace backprop::testing

// Expects `part` inside `text`, and prints `text` when it is not.
#define EXPECT_CONTAINS(text, part) EXPECT_NE(std::string(text).find(part), std::string::npos) << (text)
