#include "instance/private_listener.hpp"

#include <sys/stat.h>

#include <cerrno>

#include "base/error.hpp"

namespace mdevrun {

void listen_private(boost::asio::local::stream_protocol::acceptor& acceptor,
                    const std::filesystem::path& path, const std::string& what) {
  using stream_protocol = boost::asio::local::stream_protocol;
  std::error_code ec;
  std::filesystem::remove(path, ec);  // a supervisor that died may have left it
  boost::system::error_code bec;
  acceptor.open(stream_protocol(), bec);
  if (!bec) acceptor.bind(stream_protocol::endpoint(path.string()), bec);
  if (!bec && ::chmod(path.c_str(), 0600) != 0)
    bec = boost::system::error_code(errno, boost::system::system_category());
  if (!bec) acceptor.listen(boost::asio::socket_base::max_listen_connections, bec);
  if (bec)
    throw Error(ExitCode::failure,
                "cannot serve " + what + " on " + path.string() + ": " + bec.message());
}

}  // namespace mdevrun
