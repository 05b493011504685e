#pragma once
// Helpers shared by the client tests: a hard-deadline run loop and a transcript recorder.

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "qmp/config.hpp"
#include "qmp/error.hpp"

namespace qmp::test {

/// Runs `ioc` until `done()` or the deadline; false on deadline (the test then fails, never hangs).
template <class Done>
bool run_until(boost::asio::io_context& ioc, Done done,
               std::chrono::milliseconds bound = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + bound;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    if (ioc.stopped()) ioc.restart();
    if (ioc.run_one_until(deadline) == 0 && ioc.stopped() && !done()) return false;
  }
  return true;
}

/// Records a client's transcript; text() joins it with the CLI's arrows.
struct transcript_recorder {
  std::vector<std::pair<direction, std::string>> lines;
  transcript_sink sink() {
    return [this](direction d, std::string_view l) { lines.emplace_back(d, std::string(l)); };
  }
  bool contains(direction d, std::string_view needle) const {
    for (const auto& [dir, l] : lines) {
      if (dir == d && l.find(needle) != std::string::npos) return true;
    }
    return false;
  }
};

/// The error code a blocking call throws (success when it does not throw).
inline boost::system::error_code failure_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const system_error& e) {
    return e.code();
  }
  return {};
}

}  // namespace qmp::test
