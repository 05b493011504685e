#include "instance/console_holder.hpp"

namespace mdevrun {
namespace {
constexpr std::string_view kOk = "mdevrun-console ok";
constexpr std::string_view kBusy = "mdevrun-console busy ";
}  // namespace

bool ConsoleHolder::try_take(const ConsolePeer& peer) {
  if (holder_ && holder_->id != peer.id) return false;
  holder_ = peer;
  return true;
}

void ConsoleHolder::release(std::uint64_t id) {
  if (holder_ && holder_->id == id) holder_.reset();
}

std::string console_admitted_line() {
  return std::string(kOk) + "\n";
}

std::string console_refused_line(const ConsolePeer& holder) {
  std::string comm = holder.comm.empty() ? "?" : holder.comm;
  for (char& c : comm)
    if (c == '\n' || c == ' ') c = '_';  // one line, one word: the parser splits on the space
  return std::string(kBusy) + std::to_string(holder.pid) + " " + comm + "\n";
}

std::optional<ConsoleHandshake> parse_console_handshake(std::string_view line) {
  if (line == kOk) return ConsoleHandshake{true, {}};
  if (!line.starts_with(kBusy)) return std::nullopt;
  line.remove_prefix(kBusy.size());
  const auto space = line.find(' ');
  const std::string_view pid = line.substr(0, space);
  if (pid.empty() || pid.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  std::string who = pid == "0" ? "an unknown process" : "pid " + std::string(pid);
  if (space != std::string_view::npos && line.substr(space + 1) != "?")
    who += " (" + std::string(line.substr(space + 1)) + ")";
  return ConsoleHandshake{false, who};
}

}  // namespace mdevrun
