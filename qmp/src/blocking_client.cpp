#include "qmp/blocking_client.hpp"

#include <stdexcept>

namespace qmp {

blocking_client::blocking_client(config cfg)
    : client_(std::make_unique<client>(ioc_, std::move(cfg))) {}

blocking_client::~blocking_client() {
  client_.reset();  // completes pending handlers with cancelled; run them so nothing leaks
  ioc_.restart();
  ioc_.poll();
}

void blocking_client::throw_stalled() {
  throw std::logic_error("qmp::blocking_client: io_context ran out of work before completion");
}

void blocking_client::throw_error(error_code ec) {
  const std::string& detail = client_->error_detail();
  throw system_error(ec, detail.empty() ? std::string("qmp") : detail);
}

void blocking_client::throw_connect_error(error_code ec) {
  const std::string& detail = client_->error_detail();
  throw connect_error(ec, detail.empty() ? std::string("qmp") : detail);
}

void blocking_client::throw_call_error(error_code ec, std::string_view command,
                                       std::chrono::milliseconds timeout) {
  if (ec == error::timeout) {
    throw system_error(
        ec, std::string(command) + ": no reply within " + std::to_string(timeout.count()) + " ms");
  }
  throw_error(ec);
}

void blocking_client::connect(const std::string& path) {
  connect(path, client_->get_config().connect_timeout);
}

void blocking_client::connect(const std::string& path, std::chrono::milliseconds timeout) {
  std::optional<error_code> result;
  client_->async_connect(path, timeout, [&result](error_code ec) { result = ec; });
  run_until([&] { return result.has_value(); });
  if (*result) throw_connect_error(*result);
}

reply blocking_client::connect_and_execute(const std::string& path,
                                           std::chrono::milliseconds connect_timeout,
                                           std::string_view command, const json& args,
                                           std::chrono::milliseconds command_timeout) {
  std::optional<error_code> connected, executed;
  reply out;
  client_->async_connect(path, connect_timeout, [&connected](error_code ec) { connected = ec; });
  client_->async_execute(std::string(command), args, command_timeout, [&](error_code ec, reply r) {
    executed = ec;
    out = std::move(r);
  });
  run_until([&] { return connected.has_value() && executed.has_value(); });
  if (*connected) throw_connect_error(*connected);
  if (*executed) throw_call_error(*executed, command, command_timeout);
  return out;
}

reply blocking_client::execute(std::string_view command, const json& args) {
  return execute(command, args, client_->get_config().command_timeout);
}

reply blocking_client::execute(std::string_view command, const json& args,
                               std::chrono::milliseconds timeout) {
  std::optional<error_code> result;
  reply out;
  client_->async_execute(std::string(command), args, timeout, [&](error_code ec, reply r) {
    result = ec;
    out = std::move(r);
  });
  run_until([&] { return result.has_value(); });
  if (*result) throw_call_error(*result, command, timeout);
  return out;
}

blocking_listener blocking_client::listen(event_filter filter) {
  return blocking_listener(*this, std::move(filter));
}

blocking_listener::blocking_listener(blocking_client& owner, event_filter filter)
    : owner_(&owner), listener_(owner.async_client(), std::move(filter)) {}

std::optional<event> blocking_listener::wait(std::chrono::milliseconds timeout) {
  std::optional<error_code> result;
  event out;
  listener_.async_wait(timeout, [&](error_code ec, event e) {
    result = ec;
    out = std::move(e);
  });
  owner_->run_until([&] { return result.has_value(); });
  if (*result == error::timeout) return std::nullopt;
  if (*result) {
    const std::string& detail = owner_->async_client().error_detail();
    throw system_error(*result, detail.empty() ? std::string("waiting for an event") : detail);
  }
  return out;
}

typed_reply<status_info> blocking_client::query_status() {
  reply r = execute("query-status");
  return {r.ok() ? parse_status(r.value) : status_info{}, std::move(r.error)};
}

typed_reply<std::vector<pci_device>> blocking_client::query_pci() {
  reply r = execute("query-pci");
  return {r.ok() ? parse_pci(r.value) : std::vector<pci_device>{}, std::move(r.error)};
}

typed_reply<std::vector<qom_property>> blocking_client::qom_list(const std::string& path) {
  reply r = execute("qom-list", json{{"path", path}});
  return {r.ok() ? parse_qom_list(r.value) : std::vector<qom_property>{}, std::move(r.error)};
}

reply blocking_client::device_add(const json& properties) {
  return execute("device_add", properties);
}

unplug_result blocking_client::device_del(const std::string& id,
                                          std::chrono::milliseconds timeout) {
  std::optional<error_code> result;
  unplug_result out;
  async_device_del(*client_, id, timeout, [&](error_code ec, unplug_result r) {
    result = ec;
    out = std::move(r);
  });
  run_until([&] { return result.has_value(); });
  if (*result == error::timeout) {
    throw system_error(*result,
                       "device_del: no reply within " + std::to_string(timeout.count()) + " ms");
  }
  if (*result) throw_error(*result);
  return out;
}

bool blocking_client::poll_connected() {
  ioc_.restart();
  ioc_.poll();
  return client_->is_connected();
}

void blocking_client::close() {
  client_->close();
  ioc_.restart();
  ioc_.poll();
}

const greeting& blocking_client::peer_greeting() const {
  const auto& g = client_->peer_greeting();
  if (!g) throw system_error(error::not_connected, "no greeting received");
  return *g;
}

}  // namespace qmp
