// Uses the public headers only: a session fed qemu's greeting answers with qmp_capabilities.
#include <iostream>

#include "qmp/session.hpp"

int main() {
  qmp::session s;
  s.feed(
      R"({"QMP": {"version": {"qemu": {"major": 7, "minor": 2, "micro": 0}}, "capabilities": []}})"
      "\r\n");
  const std::string out = s.take_output_bytes();
  if (out.find("qmp_capabilities") == std::string::npos) {
    std::cerr << "no qmp_capabilities after the greeting: " << out << "\n";
    return 1;
  }
  std::cout << "ok\n";
  return 0;
}
