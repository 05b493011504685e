#pragma once
// Line checks the session runs before handing a line to the JSON parser.

#include <cstddef>
#include <string>
#include <string_view>

namespace qmp::detail {

/// Deepest array/object nesting accepted (qemu's own parser stops at 1024 too). Bounds the
/// recursion of anything that walks a parsed message later (json::dump).
inline constexpr std::size_t max_nesting = 1024;

struct line_scan {
  bool valid_utf8 = true;
  bool too_deep = false;
};

/// One pass over `line`: UTF-8 validity (RFC 3629: no overlongs, surrogates or > U+10FFFF) and
/// whether brackets outside strings nest deeper than max_nesting.
line_scan scan_line(std::string_view line) noexcept;

/// Copies `in` replacing every byte that does not start a valid UTF-8 sequence by U+FFFD.
std::string replace_invalid_utf8(std::string_view in);

/// At most `max` bytes of `s` followed by "..." when cut, for error details.
std::string excerpt(std::string_view s, std::size_t max = 80);

}  // namespace qmp::detail
