#pragma once
// A JSON reader for hand-written files: accepts // and /* */ comments, rejects duplicate keys and
// invalid UTF-8, and remembers the line of every value so errors can name it. nlohmann::json has
// no source positions, hence this small parser of our own.

#include <map>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace mdevrun {

struct JsonSource {
  nlohmann::json value;
  std::map<std::string, int> lines;  ///< JSON pointer ("" is the root) -> 1-based line
};

/// Parses `text`. Throws Error(ExitCode::usage, "<display_name>:<line>:<col>: <what>") on bad
/// syntax. Nesting is limited (256 levels) so hostile input cannot exhaust the stack.
JsonSource parse_json_source(std::string_view text, const std::string& display_name);

/// Escapes one reference token for a JSON pointer (RFC 6901: ~ -> ~0, / -> ~1).
std::string pointer_token(std::string_view key);

}  // namespace mdevrun
