#include "instance/stop_sequence.hpp"

namespace mdevrun {

const char* step_name(StopStep step) {
  switch (step) {
    case StopStep::powerdown:
      return "powerdown";
    case StopStep::quit:
      return "quit";
    case StopStep::terminate:
      return "SIGTERM";
    case StopStep::kill:
      return "SIGKILL";
  }
  return "?";
}

namespace {

// How qemu was ended by a step after powerdown, as outcome() says it.
std::string ended_by(StopStep step) {
  if (step == StopStep::quit) return "quit";
  return step == StopStep::terminate ? "terminated (SIGTERM)" : "killed (SIGKILL)";
}

}  // namespace

StopSequence::StopSequence(StopPolicy policy)
    : policy_(policy), step_(policy.force ? StopStep::quit : StopStep::powerdown) {}

std::chrono::milliseconds StopSequence::wait() const {
  return step_ == StopStep::powerdown ? policy_.guest_timeout : policy_.escalate_after;
}

bool StopSequence::next() {
  switch (step_) {
    case StopStep::powerdown:
      step_ = StopStep::quit;
      return true;
    case StopStep::quit:
      step_ = StopStep::terminate;
      return true;
    case StopStep::terminate:
      step_ = StopStep::kill;
      return true;
    case StopStep::kill:
      return false;
  }
  return false;
}

bool StopSequence::advance() {
  if (step_ == StopStep::powerdown) powerdown_sent_ = true;
  return next();
}

bool StopSequence::skip() {
  return next();
}

std::string StopSequence::outcome() const {
  if (guest_down_ && step_ != StopStep::powerdown)
    return "powered down; qemu did not exit by itself, " + ended_by(step_);
  switch (step_) {
    case StopStep::powerdown:
      return "powered down";
    case StopStep::quit:
      if (powerdown_sent_)
        return "quit after the guest ignored powerdown for " +
               std::to_string(policy_.guest_timeout.count() / 1000) + " s";
      return policy_.force ? "quit (forced)" : "quit";
    case StopStep::terminate:
    case StopStep::kill:
      return ended_by(step_);
  }
  return "stopped";
}

}  // namespace mdevrun
