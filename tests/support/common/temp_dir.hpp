#pragma once
// A private temp folder (mkdtemp, mode 0700) for one test or fixture, deleted with everything in
// it when the object goes. Throws std::runtime_error when it cannot be made. Not copyable.

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace mdevrun::testing {

class TempDir {
 public:
  /// /tmp/<prefix>.XXXXXX; the prefix says which test left a folder, should one survive a crash.
  explicit TempDir(const std::string& prefix = "mdevrun-test") {
    std::string templ = "/tmp/" + prefix + ".XXXXXX";
    if (!::mkdtemp(templ.data()))
      throw std::runtime_error("mkdtemp " + templ + ": " + std::strerror(errno));
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mdevrun::testing
