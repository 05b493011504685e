#include "os/named_profile.hpp"

#include <algorithm>
#include <map>
#include <system_error>

#include "base/error.hpp"
#include "base/text.hpp"
#include "os/private_path.hpp"

namespace mdevrun {
namespace fs = std::filesystem;
namespace {

constexpr std::string_view kSuffix = ".json";

bool ends_with_json(std::string_view arg) {
  return arg.size() >= kSuffix.size() && arg.substr(arg.size() - kSuffix.size()) == kSuffix;
}

// The folder, the file, and the folder the file really lives in (a symlink may point elsewhere).
void require_trusted_profile(const fs::path& dir, const fs::path& file) {
  require_trusted(dir, PathKind::directory);
  require_trusted(file, PathKind::regular_file);
  std::error_code ec;
  const fs::path real = fs::canonical(file, ec);
  if (!ec && real.parent_path() != fs::canonical(dir, ec))
    require_trusted(real.parent_path(), PathKind::directory);
}

}  // namespace

bool is_profile_name(std::string_view arg) {
  return arg.find('/') == std::string_view::npos && !ends_with_json(arg);
}

fs::path resolve_profile_arg(const Host& host, const std::string& arg) {
  return is_profile_name(arg) ? find_named_profile(host, arg) : fs::path(arg);
}

fs::path find_named_profile(const Host& host, std::string_view name) {
  if (!is_plain_name(name))
    throw Error(ExitCode::usage,
                "invalid profile name \"" + std::string(name) +
                    "\": use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or "
                    "'-'; or give a path to the file (containing '/' or ending in .json)");
  const std::string file_name = std::string(name) + std::string(kSuffix);
  std::vector<std::string> looked;
  for (const auto& dir : host.config_dirs) {
    const fs::path file = dir / file_name;
    std::error_code ec;
    if (fs::exists(file, ec)) {
      require_trusted_profile(dir, file);
      return file;
    }
    looked.push_back(file.string());
  }
  // Before profiles had names, `mdevrun start desk` meant the file desk in the working folder;
  // that still works when no config folder has a profile of that name.
  std::error_code ec;
  if (fs::is_regular_file(fs::path(name), ec)) return fs::path(name);
  std::string message = "no profile named " + std::string(name) + ": looked for " +
                        join(looked, ", ") + " and ./" + std::string(name) +
                        "; create one there or give a path to the file";
  if (looked.empty()) message = "no profile named " + std::string(name) + ": no config folders";
  throw Error(ExitCode::not_found, message);
}

std::vector<NamedProfile> list_named_profiles(const Host& host) {
  std::map<std::string, NamedProfile> found;
  for (const auto& dir : host.config_dirs) {
    std::error_code ec;
    for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
      const std::string file = it->path().filename().string();
      if (!ends_with_json(file)) continue;
      const std::string name = file.substr(0, file.size() - kSuffix.size());
      if (!is_plain_name(name) || found.count(name)) continue;
      std::error_code type_ec;
      if (!fs::is_regular_file(it->path(), type_ec)) continue;
      NamedProfile p{name, it->path(), {}};
      try {
        require_trusted_profile(dir, it->path());
      } catch (const Error& e) {
        p.problem = e.what();
      }
      found.emplace(name, std::move(p));
    }
  }
  std::vector<NamedProfile> out;
  for (auto& [name, p] : found) out.push_back(std::move(p));
  return out;
}

}  // namespace mdevrun
