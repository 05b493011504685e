#pragma once
// One updating status line for a wait that may take a while (qemu's monitor at start, the guest
// letting go of an unplugged device, a guest powering down): "stopping desk: waiting for the guest
// to power down... 4 s". Drawn on stderr only when both stdout and stderr are terminals and
// --quiet was not given, and only once the wait has lasted a second, so scripts, pipes and quick
// commands see nothing extra. The line is erased when the wait ends, before the result prints.
//
// Threading: a ticker thread redraws the line; construct, update and destroy from one thread.
// Errors: none (a failed write to the terminal is ignored).

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

namespace mdevrun::cli {

class ProgressLine {
 public:
  /// --quiet: no progress line in this process.
  static void set_quiet(bool quiet);

  /// Starts the wait `what`; the line appears (on stderr) if the rules above allow it.
  explicit ProgressLine(std::string what);
  /// For tests: always drawn, on `out`, after `show_after`, redrawn every `every`.
  ProgressLine(std::string what, std::ostream& out, std::chrono::milliseconds show_after,
               std::chrono::milliseconds every);
  ~ProgressLine();  ///< erases the line if it was drawn
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// The wait goes on as `what` (the next step of an escalation, say).
  void update(std::string what);

 private:
  void run(std::chrono::milliseconds show_after, std::chrono::milliseconds every);

  std::ostream* out_ = nullptr;  ///< none: disabled
  std::mutex mutex_;
  std::condition_variable wake_;
  std::string what_;
  bool done_ = false;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point since_ = std::chrono::steady_clock::now();
  std::thread ticker_;
};

}  // namespace mdevrun::cli
