#include "instance/qmp_exit_code.hpp"

namespace mdevrun {

ExitCode exit_code_for(const boost::system::error_code& ec) {
  if (ec.category() == qmp::error_category()) {
    switch (static_cast<qmp::error>(ec.value())) {
      case qmp::error::timeout:
        return ExitCode::timeout;
      case qmp::error::disconnected:
      case qmp::error::not_connected:
        return ExitCode::connect;
      case qmp::error::protocol_error:
      case qmp::error::message_too_large:
      case qmp::error::no_greeting:
      case qmp::error::negotiation_failed:
        return ExitCode::protocol;
      case qmp::error::cancelled:
      case qmp::error::already_connected:
        return ExitCode::failure;
    }
    return ExitCode::failure;
  }
  return ExitCode::connect;  // a system error from connect: ENOENT, ECONNREFUSED, EACCES, ...
}

}  // namespace mdevrun
