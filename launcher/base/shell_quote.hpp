#pragma once
// Renders argv for humans to copy into a shell. mdevrun itself never runs a shell.

#include <string>
#include <string_view>
#include <vector>

namespace mdevrun {

/// `word` unchanged when it needs no quoting, else in single quotes ('\'' for a quote).
std::string shell_quote(std::string_view word);

/// The words shell-quoted and joined by spaces.
std::string shell_join(const std::vector<std::string>& argv);

}  // namespace mdevrun
