#pragma once
// A terminal in raw mode for as long as a RawTerminal lives: what `mdevrun console` (and a
// foreground `start` that attaches its terminal to the guest's serial) needs so that every key
// goes to the guest. The previous settings come back on every exit path that can be caught:
// destruction, and — with restore_on_signals — SIGINT, SIGTERM and SIGHUP (the handler restores
// the terminal, then the signal takes its default action: the process ends 128+signal).
// SIGKILL cannot be caught; `stty sane` (or `reset`) repairs a terminal left raw by one.
//
// Not thread-safe; at most one RawTerminal with restore_on_signals at a time per process (the
// signal handler restores the one terminal). A descriptor that is not a terminal is left alone
// (active() is false), so pipes pass through unchanged.

#include <termios.h>

namespace mdevrun {

class RawTerminal {
 public:
  struct Options {
    /// Keep ISIG (Ctrl-C still raises SIGINT) and output processing ("\n" -> "\r\n"): the
    /// foreground start, where Ctrl-C keeps stopping the VM and our own messages stay readable.
    bool keep_signals = false;
    /// Install SIGINT/SIGTERM/SIGHUP handlers that restore the terminal; off when someone else
    /// (the supervisor's signal set) owns those signals: destruction restores it then.
    bool restore_on_signals = true;
  };

  RawTerminal(int fd, Options options);
  ~RawTerminal();
  RawTerminal(const RawTerminal&) = delete;
  RawTerminal& operator=(const RawTerminal&) = delete;

  bool active() const { return active_; }

 private:
  int fd_;
  bool active_ = false;
  bool handlers_ = false;
  termios saved_{};
};

}  // namespace mdevrun
