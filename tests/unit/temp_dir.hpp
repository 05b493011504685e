#pragma once
// A temp folder for one test, deleted with everything in it afterwards.

#include <stdlib.h>

#include <filesystem>
#include <system_error>

namespace mdevrun::testing {

class TempDir {
 public:
  TempDir() {
    char templ[] = "/tmp/mdevrun-test.XXXXXX";
    path_ = ::mkdtemp(templ) ? templ : "";
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
