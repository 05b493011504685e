#include <csignal>

#include "cli/cli.hpp"

int main(int argc, char** argv) {
  // A reader that went away (a closed terminal, `| head`, the `start --detach` front end killed
  // before the ready report) must never kill mdevrun between two host changes: writes fail with
  // EPIPE instead, and the orderly stop and cleanup still run.
  std::signal(SIGPIPE, SIG_IGN);
  return mdevrun::cli::run(argc, argv);
}
