#pragma once
// Small text helpers shared by every layer: pure functions, no I/O, thread-safe.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace mdevrun {

/// `text` without leading and trailing ASCII whitespace (space, \t, \n, \r, \v, \f).
std::string trim(std::string_view text);

/// The items separated by `separator`: join({"a", "b"}) is "a, b".
std::string join(const std::vector<std::string>& items, std::string_view separator = ", ");

/// ASCII lower case; other bytes unchanged.
std::string lower(std::string_view text);

/// "10 s", "0.25 s": a duration for messages.
std::string format_seconds(std::chrono::milliseconds duration);

/// True when `name` is safe as one path component made from user input: 1-64 characters of
/// [A-Za-z0-9._-], not starting with '.' or '-' (so never "..", a hidden file or an option).
bool is_plain_name(std::string_view name);

}  // namespace mdevrun
