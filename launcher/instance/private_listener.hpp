#pragma once
// The supervisor's listening unix sockets (QMP monitor.sock, the serial console's sockets): a
// stale file from a supervisor that died is removed, and the socket is made 0600 like qemu's own
// inside the 0700 instance folder.
//
// Call before the acceptor is used, on its executor's thread. Errors: Error(failure) "cannot
// serve WHAT on PATH: reason".

#include <filesystem>
#include <string>

#include <boost/asio/local/stream_protocol.hpp>

namespace mdevrun {

void listen_private(boost::asio::local::stream_protocol::acceptor& acceptor,
                    const std::filesystem::path& path, const std::string& what);

}  // namespace mdevrun
