#pragma once
// How QMP failures become mdevrun exit codes (README "Exit codes").

#include <boost/system/error_code.hpp>

#include "base/error.hpp"
#include "qmp/blocking_client.hpp"

namespace mdevrun {

/// timeout -> timeout; disconnected, not connected, a connect errno -> connect; any protocol
/// failure -> protocol; the rest -> failure.
ExitCode exit_code_for(const boost::system::error_code& ec);

/// Runs `f`, turning the QMP facade's exceptions into mdevrun::Error.
template <class F>
auto translating_qmp_errors(F&& f) {
  try {
    return f();
  } catch (const qmp::system_error& e) {
    throw Error(exit_code_for(e.code()), e.what());
  }
}

}  // namespace mdevrun
