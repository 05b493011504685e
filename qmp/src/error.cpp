#include "qmp/error.hpp"

#include <string>

namespace qmp {
namespace {

class category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "qmp"; }
  std::string message(int ev) const override {
    switch (static_cast<error>(ev)) {
      case error::disconnected:
        return "disconnected from the QMP monitor";
      case error::timeout:
        return "timed out";
      case error::cancelled:
        return "cancelled";
      case error::protocol_error:
        return "QMP protocol error";
      case error::message_too_large:
        return "QMP message too large";
      case error::no_greeting:
        return "no QMP greeting";
      case error::negotiation_failed:
        return "QMP capabilities negotiation failed";
      case error::not_connected:
        return "not connected";
      case error::already_connected:
        return "already connected";
    }
    return "unknown qmp error";
  }
};

}  // namespace

const boost::system::error_category& error_category() noexcept {
  static const category instance;
  return instance;
}

}  // namespace qmp
