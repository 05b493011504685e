#pragma once
// Shared pieces of the fake-sysfs tests: a fixture owning one mounted fake sysfs and a private
// runtime folder, and small helpers. Every wait is bounded; nothing sleeps to synchronise.

#include <gtest/gtest.h>
#include <stdlib.h>

#include <sys/wait.h>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "base/error.hpp"
#include "fake_sysfs_fixture.hpp"
#include "instance/runtime_dir.hpp"
#include "run_command.hpp"
#include "temp_dir.hpp"

namespace mdevrun::testing {

inline constexpr const char* kUuid1 = "4dd50f26-ec08-11e8-b838-4bc3356865b6";
inline constexpr const char* kUuid2 = "8a6b1f4e-2c3d-4e5f-8a9b-0c1d2e3f4a5b";

class FuseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(fuse_available()) << "fake sysfs tests need root and /dev/fuse";
    runtime_dir_.emplace("mdevrun-rt");
    runtime_ = std::make_unique<RuntimeDir>(runtime_dir_->path());
  }
  void TearDown() override {
    fake_.reset();
    runtime_.reset();
    runtime_dir_.reset();
  }

  FakeSysfs& mount(const nlohmann::json& config) {
    fake_ = std::make_unique<FakeSysfs>(config);
    return *fake_;
  }
  FakeSysfs& fake() { return *fake_; }
  RuntimeDir& runtime() { return *runtime_; }

  /// Lock files left in the runtime's locks folder.
  std::size_t lock_files() const {
    std::error_code ec;
    std::size_t n = 0;
    for (std::filesystem::directory_iterator it(runtime_->locks_dir(), ec), end; !ec && it != end;
         it.increment(ec))
      ++n;
    return n;
  }

  std::unique_ptr<FakeSysfs> fake_;
  std::optional<TempDir> runtime_dir_;
  std::unique_ptr<RuntimeDir> runtime_;
};

/// Polls `condition` until it holds or `limit` passes (for state another process changes).
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::milliseconds limit = std::chrono::seconds(5)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return true;
}

/// Runs `f`, expecting an Error; returns it (fails the test when none is thrown).
template <typename F>
std::optional<Error> error_of(F&& f) {
  try {
    f();
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "no mdevrun::Error thrown";
  return std::nullopt;
}

/// One parent with one type: the smallest useful host.
inline nlohmann::json one_type(const std::string& parent, const std::string& type, int instances,
                               const std::string& full_errno = "ENOSPC") {
  return {
      {"parents",
       {{{"name", parent},
         {"types", {{{"type", type}, {"instances", instances}, {"full_errno", full_errno}}}}}}}};
}

}  // namespace mdevrun::testing
