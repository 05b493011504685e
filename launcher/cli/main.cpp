#include "cli/cli.hpp"

int main(int argc, char** argv) {
  return mdevrun::cli::run(argc, argv);
}
