#include "cli/progress_line.hpp"

#include <unistd.h>

#include <atomic>
#include <iostream>

namespace mdevrun::cli {
namespace {

std::atomic<bool> quiet{false};

}  // namespace

void ProgressLine::set_quiet(bool q) {
  quiet = q;
}

ProgressLine::ProgressLine(std::string what) : what_(std::move(what)) {
  if (quiet || !::isatty(STDOUT_FILENO) || !::isatty(STDERR_FILENO)) return;
  out_ = &std::cerr;
  ticker_ = std::thread([this] { run(std::chrono::seconds(1), std::chrono::milliseconds(250)); });
}

ProgressLine::ProgressLine(std::string what, std::ostream& out,
                           std::chrono::milliseconds show_after, std::chrono::milliseconds every)
    : out_(&out), what_(std::move(what)) {
  ticker_ = std::thread([this, show_after, every] { run(show_after, every); });
}

ProgressLine::~ProgressLine() {
  if (!ticker_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    done_ = true;
  }
  wake_.notify_all();
  ticker_.join();
  // "\r" + erase to the end of the line: the result is printed where the line was.
  if (drawn_) *out_ << "\r\033[K" << std::flush;
}

void ProgressLine::update(std::string what) {
  std::lock_guard lock(mutex_);
  what_ = std::move(what);
}

void ProgressLine::run(std::chrono::milliseconds show_after, std::chrono::milliseconds every) {
  std::unique_lock lock(mutex_);
  if (wake_.wait_for(lock, show_after, [this] { return done_; })) return;
  std::string shown;
  do {
    const auto s =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - since_)
            .count();
    std::string line = what_ + "... " + std::to_string(s) + " s";
    if (line != shown) *out_ << "\r\033[K" << line << std::flush;  // redrawn only on a change
    shown = std::move(line);
    drawn_ = true;
  } while (!wake_.wait_for(lock, every, [this] { return done_; }));
}

}  // namespace mdevrun::cli
