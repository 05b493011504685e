#pragma once
// A profile file as JSON, with its `extends` chain merged (base first; RFC 7386 merge patch except
// that arrays of elements with an "id" merge by id, see README "Guest profile") and the origin of
// every value kept, so validation errors can name the file and line that wrote it.

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace mdevrun {

struct ValueOrigin {
  std::string file;           ///< as shown to the user (the path given, or base paths joined)
  std::filesystem::path dir;  ///< directory that relative paths in this value are relative to
  int line = 0;
};

struct ProfileDocument {
  std::filesystem::path file;                  ///< absolute path of the top-level profile
  nlohmann::json value;                        ///< merged, without the `extends` key
  std::map<std::string, ValueOrigin> origins;  ///< JSON pointer -> where it was written

  /// Where `pointer` was written; for a pointer that is absent (a missing key), the nearest
  /// enclosing value that exists.
  const ValueOrigin& locate(const std::string& pointer) const;
};

/// Reads `file` and the profiles it extends. Throws Error(ExitCode::usage) with one line per
/// problem: unreadable file, bad JSON, `extends` that is not a string, a missing base, a cycle.
ProfileDocument load_profile_document(const std::filesystem::path& file);

/// Parses profile text that did not come from a file (tests, fuzzing). `extends` resolves
/// relative to `dir`.
ProfileDocument parse_profile_document(const std::string& text, const std::string& display_name,
                                       const std::filesystem::path& dir);

}  // namespace mdevrun
