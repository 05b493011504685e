#pragma once
// Suggestions for misspelt names (profile keys, mdev types, parents).

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdevrun {

/// The candidate `word` most likely meant: an exact case-insensitive match first, else the
/// closest by edit distance when that distance is small for the word's length; none otherwise.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace mdevrun
