#pragma once
// Turns a profile file into a validated Profile. Validation is complete before anything else runs:
// a bad profile is reported (every problem, one line each) and nothing on the host is touched.

#include <filesystem>
#include <string>

#include "profile/profile.hpp"
#include "profile/profile_document.hpp"

namespace mdevrun {

/// Loads, merges `extends`, validates. Throws Error(ExitCode::usage) whose message has one line
/// per problem, each "FILE:LINE: /json/pointer: what is wrong; what is expected".
Profile load_profile(const std::filesystem::path& file);

/// Validates an already merged document (also used by tests and the fuzzer).
Profile profile_from_document(const ProfileDocument& doc);

/// Parses a size such as "4G", "512M", "2048" (MiB) or "1T" into MiB; none when malformed, zero,
/// or not a whole number of MiB.
std::optional<std::uint64_t> parse_size_mib(const std::string& text);

/// True when qemu accepts `id` as a device/object id: a letter, then letters, digits, '-', '.',
/// '_'.
bool is_qemu_id(const std::string& id);

}  // namespace mdevrun
