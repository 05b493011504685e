#pragma once
// "Did you mean ...?" suggestions for names a user typed: mdev parents and types, profile keys.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mdevrun {

/// Edit distance (insert, delete, substitute, swap two neighbours: each costs 1; optimal string
/// alignment), case-sensitive.
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate `word` was most likely meant as: a candidate equal to `word` ignoring ASCII case
/// first, else the one with the smallest case-insensitive edit distance if that distance is at most
/// max(1, |word| / 3). Ties go to the earlier candidate. None when `word` itself is a candidate or
/// nothing is close enough.
std::optional<std::string> did_you_mean(std::string_view word,
                                        const std::vector<std::string>& candidates);

}  // namespace mdevrun
