#pragma once
// For tests of `mdevrun check`: the one result with a stable id, as its output line. Header-only;
// the test target must link the check layer (launcher_core does).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "check/check_report.hpp"

namespace mdevrun::testing {

/// The one result of `results` with id `id`, formatted as its line without the newline; fails
/// the test (and returns "") when there is not exactly one.
inline std::string check_line(const std::vector<CheckResult>& results, const std::string& id) {
  std::vector<CheckResult> found;
  for (const auto& r : results)
    if (r.check == id) found.push_back(r);
  EXPECT_EQ(found.size(), 1u) << "results with id \"" << id << "\" in:\n"
                              << format_check_lines(results);
  if (found.size() != 1) return {};
  std::string text = format_check_lines(found);
  text.pop_back();
  return text;
}

}  // namespace mdevrun::testing
